import Mustache

/// The page templates (Mustache, HTML-escaped by default). One layout, one partial per kind of
/// section; pages are data (``Page``).
enum Templates {
    static func library() -> MustacheLibrary {
        var library = MustacheLibrary()
        // The templates are constants of this file: a parse error is a programming error.
        try! library.register(layout, named: "layout")
        try! library.register(section, named: "section")
        try! library.register(form, named: "form")
        return library
    }

    static let layout = """
        <!doctype html>
        <html lang="{{lang}}">
        <head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
        <title>{{title}} — {{appName}}</title><link rel="stylesheet" href="{{base}}/assets/console.css"></head>
        <body>
        <header><p class="app">{{appName}}</p>
        <nav>{{#nav}}<a href="{{href}}">{{text}}</a> {{/nav}}</nav>
        <p class="who">{{#user}}<span id="user">{{user}}</span>
        <form id="logout-form" method="post" action="{{base}}/logout"><input type="hidden" name="csrf" value="{{csrf}}"><button id="logout">{{signOut}}</button></form>{{/user}}
        <a id="lang" href="{{base}}/lang?set={{otherCode}}">{{other}}</a></p>
        </header>
        <main><h1>{{title}}</h1>
        {{#sections}}{{> section}}{{/sections}}
        </main>
        </body></html>
        """

    static let section = """
        {{#document}}<p class="draft" id="{{id}}" lang="{{lang}}">{{draft}}</p>{{/document}}
        {{#heading}}<h2>{{text}}</h2>{{/heading}}
        {{#paragraph}}<p>{{text}}</p>{{/paragraph}}
        {{#notice}}<p class="notice" id="{{id}}" role="status">{{text}}</p>{{/notice}}
        {{#error}}<p class="error" id="error" role="alert">{{text}}</p>{{/error}}
        {{#code}}<p>{{label}}</p><p><code id="{{id}}">{{text}}</code></p>{{/code}}
        {{#list}}<ul id="{{id}}">{{#items}}<li>{{.}}</li>{{/items}}</ul>{{/list}}
        {{#orderedList}}<ol id="{{id}}">{{#items}}<li>{{.}}</li>{{/items}}</ol>{{/orderedList}}
        {{#link}}<p><a id="{{id}}" href="{{href}}">{{text}}</a></p>{{/link}}
        {{#facts}}<dl id="{{id}}">{{#items}}<dt>{{label}}</dt><dd>{{value}}</dd>{{/items}}</dl>{{/facts}}
        {{#table}}<table id="{{id}}"><thead><tr>{{#headers}}<th>{{.}}</th>{{/headers}}</tr></thead><tbody>
        {{#rows}}<tr{{#rowID}} data-id="{{rowID}}"{{/rowID}}>{{#cells}}<td>{{#link}}<a href="{{link}}">{{text}}</a>{{/link}}{{^link}}{{text}}{{/link}}</td>{{/cells}}{{#rowForm}}<td>{{> form}}</td>{{/rowForm}}</tr>
        {{/rows}}</tbody></table>{{/table}}
        {{#form}}{{> form}}{{/form}}
        """

    static let form = """
        <form id="{{id}}"{{#class}} class="{{class}}"{{/class}} method="{{method}}" action="{{action}}">{{#csrf}}<input type="hidden" name="csrf" value="{{csrf}}">{{/csrf}}
        {{#fields}}{{#hidden}}<input type="hidden" name="{{name}}" value="{{value}}">{{/hidden}}{{^hidden}}<p><label>{{label}}<br>{{#hasOptions}}<select name="{{name}}">{{#options}}<option value="{{value}}"{{#selected}} selected{{/selected}}>{{value}}</option>{{/options}}</select>{{/hasOptions}}{{^hasOptions}}<input name="{{name}}" type="{{type}}" maxlength="{{maxlength}}"{{#autocomplete}} autocomplete="{{autocomplete}}"{{/autocomplete}}{{#inputmode}} inputmode="{{inputmode}}"{{/inputmode}}{{#value}} value="{{value}}"{{/value}}{{#required}} required{{/required}}>{{/hasOptions}}</label></p>{{/hidden}}
        {{/fields}}<p><button id="{{submitID}}" class="{{submitID}}">{{submit}}</button></p></form>
        """

    /// The only style sheet (served from the console's own path: no inline style).
    static let css = """
        body{font-family:"IPAGothic","Noto Sans JP",sans-serif;margin:0;color:#1d2330;background:#f6f7f9}
        header{background:#1d2330;color:#fff;padding:.6em 1.2em;display:flex;gap:1.5em;align-items:center;flex-wrap:wrap}
        header a{color:#cfe0ff;margin-right:.8em}header form{display:inline}.app{font-weight:bold;margin:0}.who{margin:0 0 0 auto}
        main{padding:1em 1.5em;max-width:70em}table{border-collapse:collapse;background:#fff}td,th{border:1px solid #d6d9de;padding:.3em .6em;text-align:left}
        .error{color:#a00;font-weight:bold}.notice{color:#064;font-weight:bold}code{background:#eef;padding:.2em;word-break:break-all}
        form{background:#fff;padding:.6em 1em;border:1px solid #d6d9de;max-width:40em}label{display:block}input,select{font-size:1em;padding:.2em;min-width:18em}
        dl{display:grid;grid-template-columns:max-content auto;gap:.2em 1em}dt{font-weight:bold}
        """
}
