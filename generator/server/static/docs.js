/* /api/docs: asks for an API key, keeps it in sessionStorage (this tab only),
   fetches /api/openapi.json with it and renders the operations and schemas.
   Everything from the document goes into the page as text (textContent),
   never as HTML: table names and descriptions are the company's own data. */
(function () {
  "use strict";

  var STORAGE = "docpal.apiKey";
  var METHODS = ["get", "put", "post", "patch", "delete"];
  var doc = null;

  function $(id) { return document.getElementById(id); }

  function el(tag, attrs) {
    var node = document.createElement(tag);
    var i;
    if (attrs) {
      Object.keys(attrs).forEach(function (name) {
        if (name === "text") { node.textContent = attrs.text; } else { node.setAttribute(name, attrs[name]); }
      });
    }
    for (i = 2; i < arguments.length; i++) {
      var child = arguments[i];
      if (child === null || child === undefined || child === false) { continue; }
      node.appendChild(typeof child === "string" ? document.createTextNode(child) : child);
    }
    return node;
  }

  function clear(node) { while (node.firstChild) { node.removeChild(node.firstChild); } }

  function status(text, isError) {
    var node = $("status");
    node.textContent = text;
    node.className = isError ? "error" : "";
  }

  // --- the document ------------------------------------------------------------------------

  function resolve(obj) {
    // a local "#/components/..." reference, followed once per level
    var guard = 0;
    while (obj && typeof obj.$ref === "string" && obj.$ref.indexOf("#/") === 0 && guard++ < 10) {
      var target = doc;
      obj.$ref.slice(2).split("/").forEach(function (part) {
        target = target ? target[part.replace(/~1/g, "/").replace(/~0/g, "~")] : undefined;
      });
      obj = target;
    }
    return obj || {};
  }

  function refName(ref) { return ref.split("/").pop(); }

  function schemaLink(name) {
    return el("a", { href: "#schema-" + name, text: name });
  }

  // a short description of a schema's type, as nodes (links for references)
  function typeOf(schema) {
    var out = el("span");
    if (!schema || typeof schema !== "object") { out.textContent = "any"; return out; }
    if (schema.$ref) { out.appendChild(schemaLink(refName(schema.$ref))); return out; }
    if (schema.allOf || schema.anyOf || schema.oneOf) {
      var parts = schema.allOf || schema.anyOf || schema.oneOf;
      var joiner = schema.allOf ? " and " : " or ";
      parts.forEach(function (part, i) {
        if (i) { out.appendChild(document.createTextNode(joiner)); }
        out.appendChild(typeOf(part));
      });
      return out;
    }
    var types = Array.isArray(schema.type) ? schema.type : (schema.type ? [schema.type] : []);
    var main = types.filter(function (t) { return t !== "null"; });
    if (!main.length) {
      out.textContent = types.length ? "null" : "any";
      return out;
    }
    main.forEach(function (t, i) {
      if (i) { out.appendChild(document.createTextNode(" or ")); }
      if (t === "array") {
        out.appendChild(document.createTextNode("array of "));
        out.appendChild(typeOf(schema.items));
      } else {
        out.appendChild(document.createTextNode(t + (schema.format ? " (" + schema.format + ")" : "")));
      }
    });
    if (types.indexOf("null") >= 0) { out.appendChild(document.createTextNode(" or null")); }
    return out;
  }

  // the rules of a schema in words: enum, bounds, lengths, pattern, ...
  function rules(schema) {
    var said = [];
    if (!schema || typeof schema !== "object") { return ""; }
    if (schema.description) { said.push(schema.description); }
    var values = schema.enum || (schema.items && schema.items.enum);
    if (values) {
      said.push("One of: " + values.map(function (v) { return v === null ? "null" : JSON.stringify(v); }).join(", ") + ".");
    }
    if (schema.minimum !== undefined) { said.push("Minimum " + schema.minimum + "."); }
    if (schema.exclusiveMinimum !== undefined) { said.push("Above " + schema.exclusiveMinimum + "."); }
    if (schema.maximum !== undefined) { said.push("Maximum " + schema.maximum + "."); }
    if (schema.exclusiveMaximum !== undefined) { said.push("Below " + schema.exclusiveMaximum + "."); }
    if (schema.minLength !== undefined) { said.push("At least " + schema.minLength + " characters."); }
    if (schema.maxLength !== undefined) { said.push("At most " + schema.maxLength + " characters."); }
    if (schema.pattern) { said.push("Pattern " + schema.pattern); }
    if (schema.default !== undefined) { said.push("Default " + JSON.stringify(schema.default) + "."); }
    if (schema.readOnly) { said.push("Read-only."); }
    if (schema["x-docpal-type"]) { said.push("docpal type " + schema["x-docpal-type"] + "."); }
    return said.join(" ");
  }

  function table(caption, head, rows) {
    var thead = el("thead", null, el("tr", null));
    head.forEach(function (h) { thead.firstChild.appendChild(el("th", { scope: "col", text: h })); });
    var tbody = el("tbody");
    rows.forEach(function (cells) {
      var tr = el("tr");
      cells.forEach(function (cell, i) {
        var td = el(i === 0 ? "th" : "td", i === 0 ? { scope: "row" } : null);
        if (typeof cell === "string") { td.textContent = cell; } else if (cell) { td.appendChild(cell); }
        tr.appendChild(td);
      });
      tbody.appendChild(tr);
    });
    return el("table", null, el("caption", { text: caption }), thead, tbody);
  }

  function contentRows(content) {
    return Object.keys(content || {}).map(function (type) {
      return [type, typeOf(content[type].schema)];
    });
  }

  // --- operations --------------------------------------------------------------------------

  function renderOperation(path, method, op, pathParams) {
    var id = "op-" + (op.operationId || (method + path).replace(/[^A-Za-z0-9_-]/g, "_"));
    var box = el("article", { "class": "op", id: id, "data-search": (method + " " + path + " " + (op.summary || "")).toLowerCase() },
      el("h4", null, el("span", { "class": "method " + method, text: method.toUpperCase() }),
        el("code", { text: path }), el("span", { "class": "summary", text: op.summary || "" })));
    if (op.description) { box.appendChild(el("p", { text: op.description })); }
    if (op.security && !op.security.length) { box.appendChild(el("p", { "class": "muted", text: "No API key needed." })); }
    var params = (pathParams || []).concat(op.parameters || []).map(resolve);
    if (params.length) {
      box.appendChild(table("Parameters", ["name", "in", "type", "required", "description"], params.map(function (p) {
        var schema = p.schema || (p.content && p.content[Object.keys(p.content)[0]].schema);
        return [p.name, p["in"], typeOf(schema), p.required ? "yes" : "no",
                [p.description || "", rules(p.schema)].filter(Boolean).join(" ")];
      })));
    }
    if (op.requestBody) {
      var body = resolve(op.requestBody);
      box.appendChild(table("Request body" + (body.required ? "" : " (optional)"), ["content type", "schema"],
        contentRows(body.content)));
    }
    var responses = op.responses || {};
    box.appendChild(table("Responses", ["status", "description", "body"], Object.keys(responses).map(function (code) {
      var r = resolve(responses[code]);
      var body = el("span");
      contentRows(r.content).forEach(function (row, i) {
        if (i) { body.appendChild(document.createTextNode("; ")); }
        body.appendChild(document.createTextNode(row[0] + ": "));
        body.appendChild(row[1]);
      });
      var headers = Object.keys(r.headers || {});
      var text = (r.description ? r.description.replace(/\.?$/, ".") : "") +
        (headers.length ? " Headers: " + headers.join(", ") + "." : "");
      return [code, text, body];
    })));
    return box;
  }

  function renderOperations() {
    var byTag = {};
    var order = (doc.tags || []).map(function (t) { return t.name; });
    Object.keys(doc.paths || {}).forEach(function (path) {
      var item = doc.paths[path];
      METHODS.forEach(function (method) {
        if (!item[method]) { return; }
        var tag = (item[method].tags || ["other"])[0];
        if (order.indexOf(tag) < 0) { order.push(tag); }
        (byTag[tag] = byTag[tag] || []).push(renderOperation(path, method, item[method], item.parameters));
      });
    });
    var list = $("operation-list");
    var toc = $("toc-list");
    clear(list);
    clear(toc);
    order.forEach(function (tag, n) {
      if (!byTag[tag]) { return; }
      var info = (doc.tags || []).filter(function (t) { return t.name === tag; })[0] || {};
      var tagId = "tag-" + n;
      list.appendChild(el("h3", { "class": "tag-title", id: tagId, text: tag }));
      if (info.description) { list.appendChild(el("p", { "class": "muted", text: info.description })); }
      toc.appendChild(el("li", { "class": "group" }, el("a", { href: "#" + tagId, text: tag })));
      byTag[tag].forEach(function (box) {
        list.appendChild(box);
        var label = box.querySelector(".method").textContent + " " + box.querySelector("code").textContent;
        toc.appendChild(el("li", { "data-op": box.id }, el("a", { href: "#" + box.id, text: label })));
      });
    });
    toc.appendChild(el("li", { "class": "group" }, el("a", { href: "#schemas-title", text: "Schemas" })));
  }

  // --- schemas -----------------------------------------------------------------------------

  function propertyRows(schema) {
    var rows = [];
    (schema.allOf || []).forEach(function (part) {
      if (part.$ref) {
        var includes = el("span", null, "Everything of ", schemaLink(refName(part.$ref)));
        rows.push(["(all of)", includes, "", ""]);
      } else {
        rows = rows.concat(propertyRows(part));
      }
    });
    var required = schema.required || [];
    Object.keys(schema.properties || {}).forEach(function (name) {
      var prop = schema.properties[name];
      rows.push([name, typeOf(prop), required.indexOf(name) >= 0 ? "yes" : "no", rules(prop)]);
    });
    return rows;
  }

  function renderSchemas() {
    var list = $("schema-list");
    clear(list);
    var schemas = (doc.components && doc.components.schemas) || {};
    Object.keys(schemas).sort().forEach(function (name) {
      var schema = schemas[name];
      var box = el("section", { "class": "schema", id: "schema-" + name, "aria-labelledby": "schema-title-" + name },
        el("h3", { id: "schema-title-" + name, text: name }));
      if (schema.description) { box.appendChild(el("p", { text: schema.description })); }
      var rows = propertyRows(schema);
      if (rows.length) {
        box.appendChild(table("Properties of " + name, ["name", "type", "required", "notes"], rows));
      } else {
        box.appendChild(el("p", { "class": "muted" }, "Type: ", typeOf(schema)));
      }
      if (schema.additionalProperties === false) {
        box.appendChild(el("p", { "class": "muted", text: "No other keys are accepted." }));
      }
      list.appendChild(box);
    });
  }

  function render() {
    var info = doc.info || {};
    $("title").textContent = info.title || "docpal API reference";
    document.title = $("title").textContent;
    var intro = $("intro");
    clear(intro);
    intro.appendChild(el("p", null, "OpenAPI " + doc.openapi + ", version " + (info.version || "?") + ". "
      + (info.description || "")));
    renderOperations();
    renderSchemas();
    ["intro", "operations", "schemas", "toc"].forEach(function (id) { $(id).hidden = false; });
  }

  // --- loading -----------------------------------------------------------------------------

  function hide() {
    ["intro", "operations", "schemas", "toc"].forEach(function (id) { $(id).hidden = true; });
  }

  function load(key) {
    status("Loading the API description…");
    fetch("/api/openapi.json", { headers: { "Authorization": "Bearer " + key, "Accept": "application/json" },
                                 cache: "no-store", credentials: "omit" })
      .then(function (response) {
        return response.json().then(function (body) { return { ok: response.ok, status: response.status, body: body }; },
                                    function () { return { ok: false, status: response.status, body: null }; });
      })
      .then(function (r) {
        if (!r.ok) {
          var msg = r.body && r.body.message ? r.body.message + " (" + r.body.code + ")" : "HTTP " + r.status;
          if (r.status === 401) { sessionStorage.removeItem(STORAGE); }
          hide();
          status("Could not load the API description: " + msg, true);
          return;
        }
        doc = r.body;
        render();
        var ops = document.querySelectorAll(".op").length;
        status("Showing " + ops + " operations and " + Object.keys(doc.components.schemas || {}).length + " schemas.");
      })
      .catch(function (err) {
        hide();
        status("Could not reach the server: " + err.message, true);
      });
  }

  function filter() {
    var words = $("filter").value.toLowerCase().trim();
    document.querySelectorAll(".op").forEach(function (box) {
      var show = !words || box.getAttribute("data-search").indexOf(words) >= 0;
      box.hidden = !show;
      var entry = document.querySelector('#toc-list li[data-op="' + box.id + '"]');
      if (entry) { entry.hidden = !show; }
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    $("key-form").addEventListener("submit", function (event) {
      event.preventDefault();
      var key = $("api-key").value.trim();
      if (!key) { return; }
      sessionStorage.setItem(STORAGE, key);
      $("api-key").value = "";
      load(key);
    });
    $("forget").addEventListener("click", function () {
      sessionStorage.removeItem(STORAGE);
      doc = null;
      hide();
      status("The key is forgotten.");
    });
    $("filter").addEventListener("input", filter);
    var saved = sessionStorage.getItem(STORAGE);
    if (saved) { load(saved); }
  });
}());
