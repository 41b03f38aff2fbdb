import Mustache

/// The portal's pages as Mustache templates, compiled into the binary (an installed `intake` is
/// one file; there is no template folder to lose). `{{x}}` is HTML-escaped, so partners' file
/// names, cells and errors are shown as text. Every page works without JavaScript; the one small
/// script shows times in the viewer's zone, polls a running import's rows, and highlights a drop.
enum PortalTemplates {
    static let library: MustacheLibrary = {
        var library = MustacheLibrary()
        for (name, text) in templates {
            // A template that does not parse is a programming error caught by every portal test.
            try! library.register(text, named: name)
        }
        return library
    }()

    static func render(_ name: String, _ context: [String: Any]) -> String {
        library.render(context, withTemplate: name) ?? ""
    }

    static let templates: [String: String] = [
        "header": """
            <!doctype html>
            <html lang="{{lang}}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
            <title>{{pageTitle}} · {{t.title}}</title><style>\(css)</style></head>
            <body><header><strong>Intake</strong>
            {{#user}}<nav>{{#partner}}<a href="/imports">{{t.imports}}</a><a href="/upload">{{t.upload}}</a><a href="/template">{{t.template}}</a><a href="/customers">{{t.customers}}</a>{{/partner}}{{#isAdmin}}<a href="/operator">{{t.operator}}</a>{{/isAdmin}}</nav>{{/user}}
            <span class="right"><a href="?lang={{t.otherLanguage}}" id="language">{{t.language}}</a>
            {{#user}} · {{t.signedInAs}} {{email}}{{#partner}} ({{.}}){{/partner}}
            <form method="post" action="/sign-out" class="inline"><input type="hidden" name="csrf" value="{{csrf}}"><button id="sign-out">{{t.signOut}}</button></form>{{/user}}</span>
            </header><main>
            {{#message}}<p class="message" id="message">{{.}}</p>{{/message}}
            """,
        "footer": """
            </main><script>\(script)</script></body></html>
            """,
        "signIn": """
            {{> header}}<h1>{{t.signIn}}</h1>
            <form method="post" action="/sign-in" class="box"><input type="hidden" name="csrf" value="{{signInToken}}">
            <label>{{t.email}}<input type="email" name="email" id="email" value="{{email}}" required autofocus></label>
            <label>{{t.password}}<input type="password" name="password" id="password" required></label>
            <button id="sign-in">{{t.signIn}}</button></form>{{> footer}}
            """,
        "imports": """
            {{> header}}<h1>{{t.imports}}</h1>{{#pending}}<span id="pending" hidden></span>{{/pending}}
            <p><a href="/imports" id="refresh">{{t.refresh}}</a>{{#backlog}} · {{t.waiting}}: <span id="backlog">{{.}}</span>{{/backlog}}</p>
            {{#hasRunning}}<h2>{{t.running}}</h2><ul id="running">{{#running}}<li>{{fileName}}: <span class="rows" data-entry="{{journalEntry}}">{{rows}}</span> {{t.rowsSoFar}}</li>{{/running}}</ul>{{/hasRunning}}
            {{^imports}}<p>{{t.noImports}}</p>{{/imports}}
            {{#hasImports}}<table id="imports"><thead><tr><th>{{t.file}}</th><th>{{t.received}}</th><th>{{t.via}}</th><th>{{t.status}}</th>
            <th>{{t.created}}</th><th>{{t.updated}}</th><th>{{t.unchanged}}</th><th>{{t.rejected}}</th></tr></thead><tbody>
            {{#imports}}<tr data-import="{{id}}"><td><a href="/imports/{{id}}">{{fileName}}</a></td><td>{{#received}}{{> time}}{{/received}}</td><td>{{via}}</td>
            <td class="status {{statusClass}}">{{status}}</td><td class="created">{{created}}</td><td class="updated">{{updated}}</td><td class="unchanged">{{unchanged}}</td><td class="rejected">{{rejected}}</td></tr>{{/imports}}
            </tbody></table>{{/hasImports}}{{> footer}}
            """,
        "time": """
            <time datetime="{{iso}}">{{text}} UTC</time>
            """,
        "detail": """
            {{> header}}<h1>{{t.detail}} {{record.id}}: {{record.fileName}}</h1>
            <table class="facts" id="facts">
            <tr><th>{{t.status}}</th><td id="status">{{record.status}}{{#record.dryRun}} ({{t.dryRun}}){{/record.dryRun}}</td></tr>
            <tr><th>{{t.received}}</th><td>{{#record.received}}{{> time}}{{/record.received}}</td></tr>
            <tr><th>{{t.mode}}</th><td>{{record.mode}}</td></tr>
            <tr><th>{{t.rowsRead}}</th><td id="rows-read">{{record.rowsRead}}</td></tr>
            <tr><th>{{t.created}}</th><td id="created">{{record.created}}</td></tr>
            <tr><th>{{t.updated}}</th><td id="updated">{{record.updated}}</td></tr>
            <tr><th>{{t.unchanged}}</th><td id="unchanged">{{record.unchanged}}</td></tr>
            <tr><th>{{t.skipped}}</th><td>{{record.skipped}}</td></tr>
            <tr><th>{{t.rejected}}</th><td id="rejected">{{record.rejected}}</td></tr>
            {{#record.error}}<tr><th>{{t.error}}</th><td id="error">{{.}}</td></tr>{{/record.error}}
            </table>
            <p>{{#hasResult}}<a href="/imports/{{record.id}}/result.xlsx" id="download-result">{{t.result}}</a>{{/hasResult}}
            {{#hasOriginal}} · <a href="/imports/{{record.id}}/original" id="download-original">{{t.original}}</a>{{/hasOriginal}}</p>
            {{#canRun}}<form method="post" action="/imports/{{record.id}}/run"><input type="hidden" name="csrf" value="{{csrf}}"><button id="run-for-real">{{t.runForReal}}</button></form>{{/canRun}}
            {{#hasRejectedRows}}<h2>{{t.firstRejected}}</h2><table id="rejected-rows"><tr><th>{{t.row}}</th><th>external_id</th><th>{{t.reason}}</th></tr>
            {{#rejectedRows}}<tr><td>{{row}}</td><td>{{externalID}}</td><td>{{reason}}</td></tr>{{/rejectedRows}}</table>{{/hasRejectedRows}}
            {{> footer}}
            """,
        "upload": """
            {{> header}}<h1>{{t.uploadTitle}}</h1>
            <form method="post" action="/upload" enctype="multipart/form-data" class="box" id="upload-form">
            <input type="hidden" name="csrf" value="{{csrf}}">
            <label class="check"><input type="checkbox" name="check" value="true" id="check"> {{t.checkOnly}}</label>
            <label class="drop" id="drop">{{t.dropHere}}<input type="file" name="file" id="file" accept=".csv,.xlsx" required></label>
            <p class="hint">{{limitText}}</p>
            <button id="send">{{t.send}}</button></form>{{> footer}}
            """,
        "template": """
            {{> header}}<h1>{{t.templateTitle}}</h1><p>{{t.templateText}}</p>
            <p><a href="/template.xlsx" id="template-xlsx">{{t.templateXLSX}}</a> · <a href="/template.csv" id="template-csv">{{t.templateCSV}}</a></p>
            <table><tr><th>{{t.file}}</th><th></th></tr>{{#columns}}<tr><td><code>{{header}}</code></td><td>{{explanation}}</td></tr>{{/columns}}</table>{{> footer}}
            """,
        "customers": """
            {{> header}}<h1>{{t.lookup}}</h1>
            <form method="get" action="/customers" class="box"><label>{{t.externalID}}<input name="external_id" id="external-id" value="{{query}}" required></label>
            <button id="find">{{t.find}}</button></form>
            {{#searched}}{{^customer}}<p id="not-found">{{t.notFound}}</p>{{/customer}}{{/searched}}
            {{#customer}}<table class="facts" id="customer"><tr><th>external_id</th><td>{{externalID}}</td></tr><tr><th>email</th><td>{{email}}</td></tr>
            <tr><th>name</th><td>{{name}}</td></tr><tr><th>phone</th><td>{{phone}}</td></tr><tr><th>created_at</th><td>{{createdAt}}</td></tr>
            <tr><th>custom_attributes</th><td><code>{{customAttributes}}</code></td></tr></table>
            <h2>{{t.history}}</h2><table id="history"><tr><th>{{t.at}}</th><th>{{t.file}}</th><th>{{t.action}}</th><th>{{t.values}}</th></tr>
            {{#history}}<tr><td>{{#at}}{{> time}}{{/at}}</td><td><a href="/imports/{{importID}}">{{fileName}}</a></td><td>{{action}}</td><td><code>{{values}}</code></td></tr>{{/history}}</table>{{/customer}}
            {{> footer}}
            """,
        "operator": """
            {{> header}}<h1>{{t.operator}}</h1>
            <table class="facts"><tr><th>{{t.version}}</th><td>{{version}}</td></tr><tr><th>{{t.uptime}}</th><td id="uptime">{{uptime}}</td></tr></table>
            <h2>{{t.backlog}}</h2><table id="backlog">{{#backlog}}<tr><td>{{partner}}</td><td>{{count}}</td></tr>{{/backlog}}</table>
            <h2>{{t.problems}}</h2>{{^problems}}<p>{{t.none}}</p>{{/problems}}{{#hasProblems}}<table id="problems"><tr><th>{{t.partner}}</th><th>{{t.file}}</th><th>{{t.received}}</th><th>{{t.status}}</th><th>{{t.reason}}</th></tr>
            {{#problems}}<tr><td>{{partner}}</td><td>{{fileName}}</td><td>{{#received}}{{> time}}{{/received}}</td><td>{{status}}</td><td>{{error}}</td></tr>{{/problems}}</table>{{/hasProblems}}
            <h2>{{t.recent}}</h2><table id="recent"><tr><th>{{t.partner}}</th><th>{{t.file}}</th><th>{{t.received}}</th><th>{{t.status}}</th><th>{{t.created}}</th><th>{{t.updated}}</th><th>{{t.unchanged}}</th><th>{{t.rejected}}</th></tr>
            {{#recent}}<tr><td>{{partner}}</td><td>{{fileName}}</td><td>{{#received}}{{> time}}{{/received}}</td><td>{{status}}</td><td>{{created}}</td><td>{{updated}}</td><td>{{unchanged}}</td><td>{{rejected}}</td></tr>{{/recent}}</table>
            {{> footer}}
            """,
        "problem": """
            {{> header}}<h1>{{pageTitle}}</h1><p id="problem">{{text}}</p>{{> footer}}
            """,
    ]

    static let css = """
        body{font:15px/1.45 system-ui,sans-serif;margin:0;color:#1d1d1f;background:#fafafa}
        header{display:flex;gap:1.2em;align-items:center;padding:.6em 1.2em;background:#1f4e78;color:#fff;flex-wrap:wrap}
        header a{color:#fff;margin-right:1em}header .right{margin-left:auto}
        main{padding:1em 1.5em;max-width:70em}table{border-collapse:collapse;margin:.5em 0 1.5em;background:#fff}
        th,td{border:1px solid #ddd;padding:.3em .6em;text-align:left;vertical-align:top}th{background:#f0f3f7}
        .facts th{width:12em}.box{display:flex;flex-direction:column;gap:.8em;max-width:30em;background:#fff;padding:1em;border:1px solid #ddd}
        label{display:flex;flex-direction:column;gap:.2em}label.check{flex-direction:row;align-items:center;gap:.4em}
        .drop{border:2px dashed #9ab;padding:1.5em;text-align:center}.drop.over{background:#ddebf7}
        .message{background:#fff4ce;padding:.6em;border:1px solid #e0c060}.inline{display:inline}button{padding:.35em 1em}
        .completed{color:#006100}.rejected-file,.failed{color:#9c0006}.checked{color:#1f4e78}
        """

    static let script = """
        document.querySelectorAll('time[datetime]').forEach(function(t){var d=new Date(t.getAttribute('datetime'));if(!isNaN(d))t.textContent=d.toLocaleString(document.documentElement.lang);});
        var rows=document.querySelectorAll('.rows[data-entry]'),bl=document.getElementById('backlog'),waiting=bl?parseInt(bl.textContent,10):0;
        if(rows.length||waiting>0){setInterval(function(){fetch('/progress.json',{credentials:'same-origin'}).then(function(r){return r.json()}).then(function(p){
          var live={},changed=p.waiting!==waiting||p.running.length!==rows.length;p.running.forEach(function(x){live[x.journal_entry]=x.rows});
          rows.forEach(function(e){var n=live[e.dataset.entry];if(n===undefined)changed=true;else e.textContent=n;});if(changed)location.reload();});},1500);}
        if(document.getElementById('pending'))setTimeout(function(){location.reload()},1000);
        var drop=document.getElementById('drop');
        if(drop){['dragenter','dragover'].forEach(function(k){drop.addEventListener(k,function(){drop.classList.add('over')})});
          ['dragleave','drop'].forEach(function(k){drop.addEventListener(k,function(){drop.classList.remove('over')})});}
        """
}
