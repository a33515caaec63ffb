// docpal admin page: the platform admin token is kept in this tab's
// sessionStorage only (never a cookie, localStorage or a URL) and sent as
// Authorization: Bearer to /admin/api/. Everything from the server is put
// in the page as text (textContent), never as HTML.
(function () {
  'use strict';

  var TOKEN = 'docpal.admin_token';
  var $ = function (id) { return document.getElementById(id); };
  var companies = [];
  var selected = null; // the id of the company being managed

  function token() { return sessionStorage.getItem(TOKEN); }

  function say(text) {
    $('status').textContent = text;
    $('error').hidden = true;
  }

  function fail(err) {
    $('status').textContent = '';
    $('error').textContent = err.message || String(err);
    $('error').hidden = false;
  }

  function ApiFailure(status, body) {
    this.status = status;
    this.body = body || {};
    this.message = (this.body.code ? this.body.code + ': ' : '') + (this.body.message || ('HTTP ' + status));
  }

  // One call of the admin API; a 401 signs out (the token is wrong).
  function api(method, path, body) {
    var headers = { 'Authorization': 'Bearer ' + token() };
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    return fetch(path, {
      method: method, headers: headers, credentials: 'omit', cache: 'no-store',
      body: body === undefined ? undefined : JSON.stringify(body)
    }).then(function (r) {
      if (r.ok) return r;
      return r.json().catch(function () { return {}; }).then(function (b) {
        if (r.status === 401) signOut();
        throw new ApiFailure(r.status, b);
      });
    });
  }

  function apiJson(method, path, body) {
    return api(method, path, body).then(function (r) { return r.json(); });
  }

  function signOut() {
    sessionStorage.removeItem(TOKEN);
    companies = [];
    selected = null;
    $('app').hidden = true;
    $('signout').hidden = true;
    $('login').hidden = false;
    $('token').value = '';
  }

  function signedIn() {
    $('login').hidden = true;
    $('app').hidden = false;
    $('signout').hidden = false;
  }

  function bytes(n) {
    if (n === null || n === undefined) return '?';
    var units = ['B', 'kB', 'MB', 'GB', 'TB'];
    var i = 0;
    while (n >= 1000 && i < units.length - 1) { n /= 1000; i++; }
    return (i ? n.toFixed(1) : String(n)) + ' ' + units[i];
  }

  function count(n) { return n === null || n === undefined ? '?' : Number(n).toLocaleString('en'); }

  function quotaText(q) {
    if (!q) return 'none';
    var parts = [];
    if (q.max_tables != null) parts.push(count(q.max_tables) + ' tables');
    if (q.max_records != null) parts.push(count(q.max_records) + ' records');
    if (q.max_bytes != null) parts.push(bytes(q.max_bytes));
    if (q.max_file_bytes != null) parts.push(bytes(q.max_file_bytes) + ' of files');
    return parts.length ? parts.join(', ') : 'none';
  }

  function cell(tr, text, cls) {
    var td = document.createElement('td');
    td.textContent = text;
    if (cls) td.className = cls;
    tr.appendChild(td);
    return td;
  }

  function render() {
    var tbody = $('companies').tBodies[0];
    tbody.textContent = '';
    companies.forEach(function (c) {
      var m = c.metrics || {};
      var tr = document.createElement('tr');
      tr.dataset.slug = c.slug;
      var th = document.createElement('th');
      th.scope = 'row';
      th.textContent = c.slug;
      tr.appendChild(th);
      cell(tr, c.name);
      cell(tr, c.status + (c.status_reason ? ' (' + c.status_reason + ')' : ''), 'status-' + c.status);
      cell(tr, count(m.tables), 'num');
      cell(tr, count(m.records), 'num');
      cell(tr, bytes(m.bytes), 'num');
      cell(tr, count(m.files), 'num');
      cell(tr, count(m.events_pending), 'num');
      cell(tr, m.last_activity ? m.last_activity.slice(0, 19).replace('T', ' ') : '\u2013');
      cell(tr, quotaText(m.quota));
      var td = cell(tr, '');
      var button = document.createElement('button');
      button.type = 'button';
      button.textContent = 'Manage';
      button.setAttribute('aria-label', 'Manage ' + c.slug);
      button.addEventListener('click', function () { manage(c.id); });
      td.appendChild(button);
      tbody.appendChild(tr);
    });
    if (selected) showManaged();
  }

  function load() {
    say('Loading companies\u2026');
    return apiJson('GET', '/admin/api/companies').then(function (list) {
      companies = list;
      signedIn();
      render();
      say(list.length + (list.length === 1 ? ' company.' : ' companies.'));
    });
  }

  function current() {
    return companies.filter(function (c) { return c.id === selected; })[0];
  }

  function showManaged() {
    var c = current();
    if (!c) { $('manage').hidden = true; return; }
    $('manage').hidden = false;
    $('manage-slug').textContent = c.slug;
    $('manage-status').textContent = c.status;
    $('manage-reason').textContent = c.status_reason ? '(' + c.status_reason + ')' : '';
    var q = (c.metrics || {}).quota || {};
    ['max_tables', 'max_records', 'max_bytes', 'max_file_bytes'].forEach(function (k) {
      $('q-' + k).value = q[k] == null ? '' : q[k];
    });
  }

  function manage(id) {
    selected = id;
    $('manage-result').hidden = true;
    showManaged();
    $('manage').scrollIntoView({ block: 'nearest' });
  }

  function companyPath(action) {
    return '/admin/api/companies/' + encodeURIComponent(selected) + '/' + action;
  }

  function result(text) {
    $('manage-result').textContent = text;
    $('manage-result').hidden = false;
  }

  function on(id, handler) {
    $(id).addEventListener('submit', function (event) {
      event.preventDefault();
      handler(event);
    });
  }

  on('login', function () {
    var value = $('token').value.trim();
    if (!value) return;
    sessionStorage.setItem(TOKEN, value);
    $('token').value = '';
    load().then(loadBlueprints).catch(fail);
  });

  $('signout').addEventListener('click', function () { signOut(); say('Signed out.'); });
  $('refresh').addEventListener('click', function () { load().catch(fail); });

  on('suspend-form', function () {
    var slug = current().slug;
    apiJson('POST', companyPath('suspend'), { reason: $('suspend-reason').value }).then(function () {
      $('suspend-reason').value = '';
      return load().then(function () { say('Suspended ' + slug + '.'); });
    }).catch(fail);
  });

  on('activate-form', function () {
    var slug = current().slug;
    apiJson('POST', companyPath('activate')).then(function () {
      return load().then(function () { say('Activated ' + slug + '.'); });
    }).catch(fail);
  });

  on('quota-form', function () {
    var spec = {};
    ['max_tables', 'max_records', 'max_bytes', 'max_file_bytes'].forEach(function (k) {
      var v = $('q-' + k).value.trim();
      spec[k] = v === '' ? null : Number(v);
    });
    var slug = current().slug;
    apiJson('PUT', companyPath('quota'), spec).then(function (q) {
      return load().then(function () { say('Quota of ' + slug + ': ' + quotaText(q) + '.'); });
    }).catch(fail);
  });

  on('blueprint-form', function () {
    var name = $('blueprint').value;
    var slug = current().slug;
    say('Applying ' + name + ' to ' + slug + '\u2026');
    apiJson('POST', companyPath('blueprint'), { blueprint: name }).then(function (r) {
      var made = r.created || {};
      var records = 0;
      Object.keys(made.records || {}).forEach(function (k) { records += made.records[k]; });
      result(r.name + ' v' + r.version + ': ' + (made.tables || []).length + ' tables, ' + records + ' records, ' +
             (made.reports || []).length + ' reports created.');
      return load().then(function () { say('Applied ' + name + ' to ' + slug + '.'); });
    }).catch(fail);
  });

  on('export-form', function () {
    var c = current();
    var path = companyPath('export') + ($('export-history').checked ? '?history=true' : '');
    say('Exporting ' + c.slug + '\u2026');
    api('GET', path).then(function (r) { return r.blob(); }).then(function (blob) {
      var a = document.createElement('a');
      a.href = URL.createObjectURL(blob);
      a.download = c.slug + '.json';
      document.body.appendChild(a);
      a.click();
      a.remove();
      setTimeout(function () { URL.revokeObjectURL(a.href); }, 10000);
      say('Exported ' + c.slug + ' (' + bytes(blob.size) + ').');
    }).catch(fail);
  });

  on('create-form', function () {
    var body = { slug: $('c-slug').value.trim(), name: $('c-name').value.trim() };
    var email = $('c-owner-email').value.trim();
    if (email) {
      body.owner = { email: email };
      var name = $('c-owner-name').value.trim();
      if (name) body.owner.display_name = name;
      body.api_key = $('c-api-key').checked;
    }
    apiJson('POST', '/admin/api/companies', body).then(function (r) {
      $('create-form').reset();
      $('created').hidden = false;
      $('created-slug').textContent = r.company.slug;
      $('created-key').hidden = !r.api_key;
      $('new-key').textContent = r.api_key ? r.api_key.key : '';
      return load().then(function () { say('Created ' + r.company.slug + '.'); });
    }).catch(fail);
  });

  function loadBlueprints() {
    return apiJson('GET', '/admin/api/blueprints').then(function (list) {
      var select = $('blueprint');
      select.textContent = '';
      list.forEach(function (b) {
        var option = document.createElement('option');
        option.value = b.name;
        option.textContent = b.name + ' (v' + b.version + ')';
        option.title = b.description || '';
        select.appendChild(option);
      });
    });
  }

  if (token()) {
    load().then(loadBlueprints).catch(fail);
  } else {
    signOut();
    $('token').focus();
  }
})();
