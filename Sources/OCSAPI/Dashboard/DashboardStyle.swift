/// The dashboard's style sheet (`app.css`): system fonts, colours with at least 4.5:1
/// contrast, visible keyboard focus, and tables that scroll sideways on a phone.
enum DashboardStyle {
    static let source = #"""
        :root { --ink: #111827; --muted: #4b5563; --line: #d1d5db; --paper: #ffffff; --wash: #f3f4f6;
          --accent: #1d4ed8; --bad: #b91c1c; --bad-wash: #fef2f2; --warn: #92400e; --warn-wash: #fffbeb; --good: #166534; }
        * { box-sizing: border-box; }
        [hidden] { display: none !important; }
        body { margin: 0; font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--ink); background: var(--wash); }
        a { color: var(--accent); }
        :focus-visible { outline: 3px solid #f59e0b; outline-offset: 2px; }
        h1:focus { outline: none; }
        code, pre, .mono { font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas, monospace; font-size: 13px; }
        .top { display: flex; flex-wrap: wrap; align-items: center; gap: 8px 20px; padding: 10px 16px; background: #111827; color: #fff; }
        .top a, .top button { color: #fff; }
        .brand { font-weight: 700; text-decoration: none; font-size: 17px; }
        nav { display: flex; flex-wrap: wrap; gap: 4px 14px; flex: 1; }
        nav a { text-decoration: none; padding: 4px 2px; border-bottom: 2px solid transparent; }
        nav a[aria-current="page"] { border-bottom-color: #93c5fd; font-weight: 600; }
        .account { margin-left: auto; }
        .top button { background: transparent; border: 1px solid #9ca3af; }
        main { padding: 16px; max-width: 1400px; margin: 0 auto; }
        h1 { font-size: 22px; margin: 4px 0 12px; }
        h2 { font-size: 17px; margin: 20px 0 8px; }
        button { font: inherit; padding: 6px 12px; border-radius: 6px; border: 1px solid var(--line); background: var(--paper); color: var(--ink); cursor: pointer; }
        button.primary { background: var(--accent); color: #fff; border-color: var(--accent); }
        button.danger { background: var(--bad); color: #fff; border-color: var(--bad); }
        button[aria-pressed="true"] { background: #dbeafe; border-color: var(--accent); color: #1e3a8a; font-weight: 600; }
        button:disabled { opacity: .55; cursor: not-allowed; }
        input, select { font: inherit; padding: 6px 8px; border: 1px solid #6b7280; border-radius: 6px; background: var(--paper); color: var(--ink); max-width: 100%; }
        label { font-weight: 600; font-size: 13px; color: var(--muted); }
        .banner { padding: 10px 16px; background: var(--bad); color: #fff; font-weight: 600; }
        .banner.slow { background: var(--warn); }
        .login { max-width: 380px; margin: 40px auto; background: var(--paper); padding: 20px 24px; border-radius: 10px; border: 1px solid var(--line); }
        .login form { display: grid; gap: 6px; }
        .login button { margin-top: 10px; }
        .error { color: var(--bad); font-weight: 600; min-height: 1.2em; }
        .notice { color: var(--good); font-weight: 600; min-height: 1.2em; }
        .cards { display: grid; grid-template-columns: repeat(auto-fill, minmax(150px, 1fr)); gap: 10px; }
        .card { background: var(--paper); border: 1px solid var(--line); border-radius: 8px; padding: 10px 12px; }
        .card .value { font-size: 24px; font-weight: 700; }
        .card .label { color: var(--muted); font-size: 13px; }
        .warnings { list-style: none; padding: 0; margin: 0 0 12px; display: grid; gap: 6px; }
        .warnings li { background: var(--warn-wash); color: var(--warn); border: 1px solid #f59e0b; border-radius: 8px; padding: 8px 12px; font-weight: 600; }
        .warnings li.none { background: var(--paper); color: var(--good); border-color: var(--line); }
        .scroll { overflow-x: auto; background: var(--paper); border: 1px solid var(--line); border-radius: 8px; }
        table { border-collapse: collapse; width: 100%; }
        th, td { text-align: left; padding: 6px 10px; border-bottom: 1px solid #e5e7eb; vertical-align: top; }
        th { background: #f9fafb; font-size: 13px; color: #374151; white-space: nowrap; }
        td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
        td.wrap { max-width: 360px; overflow-wrap: anywhere; }
        tr.empty td { color: var(--muted); font-style: italic; }
        .status { display: inline-block; padding: 1px 8px; border-radius: 999px; font-size: 12px; font-weight: 700; background: #e5e7eb; color: #1f2937; white-space: nowrap; }
        .status.STATUS_FAILED, .status.failed { background: var(--bad-wash); color: var(--bad); }
        .status.STATUS_SUCCESSFUL, .status.delivered { background: #dcfce7; color: var(--good); }
        .status.STATUS_RUNNING { background: #dbeafe; color: #1e3a8a; }
        .status.paused { background: var(--warn-wash); color: var(--warn); }
        .filters { display: flex; flex-wrap: wrap; gap: 10px; align-items: flex-end; background: var(--paper); padding: 12px; border: 1px solid var(--line); border-radius: 8px; margin-bottom: 10px; }
        .filters div { display: grid; gap: 2px; }
        .actions { display: flex; flex-wrap: wrap; gap: 8px; margin: 10px 0; align-items: center; }
        .pager { display: flex; gap: 8px; margin: 10px 0; }
        .charts { display: grid; grid-template-columns: repeat(auto-fit, minmax(320px, 1fr)); gap: 12px; }
        figure { margin: 0; background: var(--paper); border: 1px solid var(--line); border-radius: 8px; padding: 10px; }
        figcaption { font-weight: 600; margin-bottom: 6px; }
        svg.chart { width: 100%; height: auto; display: block; }
        svg.chart .axis { stroke: #9ca3af; stroke-width: 1; }
        svg.chart .grid { stroke: #e5e7eb; stroke-width: 1; }
        svg.chart text { font-size: 11px; fill: #374151; }
        svg.chart .line { fill: none; stroke-width: 2; }
        .series-0 { stroke: #1d4ed8; fill: #1d4ed8; } .series-1 { stroke: #b45309; fill: #b45309; }
        .series-2 { stroke: #047857; fill: #047857; } .series-3 { stroke: #7c3aed; fill: #7c3aed; }
        .series-4 { stroke: #be185d; fill: #be185d; } .series-5 { stroke: #0e7490; fill: #0e7490; }
        svg.chart .bar-ok { fill: #15803d; } svg.chart .bar-failed { fill: #b91c1c; } svg.chart .bar-cancelled { fill: #6b7280; }
        .legend { display: flex; flex-wrap: wrap; gap: 4px 14px; font-size: 13px; margin-top: 6px; list-style: none; padding: 0; }
        .legend span.key { display: inline-block; width: 12px; height: 12px; border-radius: 3px; margin-right: 4px; vertical-align: -1px; }
        .key.series-0 { background: #1d4ed8; } .key.series-1 { background: #b45309; } .key.series-2 { background: #047857; }
        .key.series-3 { background: #7c3aed; } .key.series-4 { background: #be185d; } .key.series-5 { background: #0e7490; }
        .key.bar-ok { background: #15803d; } .key.bar-failed { background: #b91c1c; } .key.bar-cancelled { background: #6b7280; }
        dl.fields { display: grid; grid-template-columns: max-content 1fr; gap: 4px 16px; background: var(--paper); border: 1px solid var(--line); border-radius: 8px; padding: 12px; margin: 0; }
        dl.fields dt { font-weight: 600; color: var(--muted); }
        dl.fields dd { margin: 0; overflow-wrap: anywhere; }
        pre.json { background: var(--paper); border: 1px solid var(--line); border-radius: 8px; padding: 10px; overflow: auto; max-height: 320px; white-space: pre-wrap; overflow-wrap: anywhere; }
        .muted { color: var(--muted); }
        .inline { display: flex; gap: 6px; align-items: center; }
        .inline input { width: 90px; }
        dialog { border: 1px solid var(--line); border-radius: 10px; padding: 18px; max-width: 440px; }
        dialog::backdrop { background: rgba(17, 24, 39, .45); }
        .notfound { max-width: 480px; margin: 60px auto; background: var(--paper); padding: 24px; border-radius: 10px; }
        .visually-hidden { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; }
        @media (max-width: 640px) {
          main { padding: 10px; }
          .top { padding: 8px 10px; }
          dl.fields { grid-template-columns: 1fr; }
          th, td { padding: 5px 6px; }
        }
        """#
}
