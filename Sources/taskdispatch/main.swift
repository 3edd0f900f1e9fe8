import TaskDispatchApp

TaskDispatchCommand.main()
