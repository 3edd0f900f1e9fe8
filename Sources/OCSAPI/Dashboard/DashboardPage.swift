/// The dashboard's HTML: one page whose sections the script fills in (`app.js`), the page
/// for unknown dashboard paths, and the icon. No inline script or style anywhere: the
/// Content-Security-Policy forbids them.
enum DashboardPage {
    /// The head both pages share, and the start of the body.
    private static func opening(title: String, script: Bool) -> String {
        """
        <!doctype html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <title>\(title)</title>
        <link rel="icon" href="/dashboard/icon.svg" type="image/svg+xml">
        <link rel="stylesheet" href="/dashboard/app.css">\(script ? "\n<script src=\"/dashboard/app.js\" defer></script>" : "")
        </head>
        <body>

        """
    }

    static let html = opening(title: "TaskDispatch dashboard", script: true) + #"""
        <header class="top">
          <a class="brand" href="#/overview">TaskDispatch</a>
          <nav id="nav" aria-label="Sections" hidden>
            <a href="#/overview" data-section="overview">Overview</a>
            <a href="#/tasks" data-section="tasks">Tasks</a>
            <a href="#/types" data-section="types">Types</a>
            <a href="#/workers" data-section="workers">Workers</a>
            <a href="#/webhooks" data-section="webhooks">Webhooks</a>
          </nav>
          <span class="account"><span id="who"></span> <button id="logout" type="button" hidden>Sign out</button></span>
        </header>
        <div id="banner" class="banner" role="alert" hidden></div>
        <main id="main">
          <section id="login" class="login" hidden aria-labelledby="login-title">
            <h1 id="login-title">Sign in</h1>
            <p>Administrators sign in with their user name and an app password
              (<code>taskdispatch user password NAME</code> makes one).</p>
            <form id="login-form">
              <label for="login-user">User name</label>
              <input id="login-user" name="user" autocomplete="username" required>
              <label for="login-password">App password</label>
              <input id="login-password" name="password" type="password" autocomplete="current-password" required>
              <button type="submit">Sign in</button>
              <p id="login-error" class="error" role="alert"></p>
            </form>
          </section>
          <div id="view" hidden></div>
        </main>
        <dialog id="confirm" aria-labelledby="confirm-text">
          <form method="dialog">
            <p id="confirm-text"></p>
            <div class="actions">
              <button value="cancel" type="submit">Keep them</button>
              <button value="ok" id="confirm-ok" class="danger" type="submit">Confirm</button>
            </div>
          </form>
        </dialog>
        </body>
        </html>
        """#

    static let notFound = opening(title: "Not found - TaskDispatch dashboard", script: false) + #"""
        <main class="notfound">
          <h1>Not found</h1>
          <p>The dashboard has no page at this address.</p>
          <p><a href="/dashboard">Go to the dashboard</a></p>
        </main>
        </body>
        </html>
        """#

    static let icon = #"""
        <svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32"><rect width="32" height="32" rx="6" fill="#1d4ed8"/><path d="M8 10h16M8 16h11M8 22h6" stroke="#fff" stroke-width="3" stroke-linecap="round"/></svg>
        """#
}
