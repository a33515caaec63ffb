// docpal dashboard page: asks for an API key, keeps it in this tab's
// sessionStorage only (never a cookie, localStorage or a URL), and shows the
// widgets the server drew (GET /app/dashboards/{slug}/charts with
// Authorization: Bearer). The fragment is the server's own HTML, every value
// in it escaped there; the page's policy runs no script but this file.
(function () {
  'use strict';

  var KEY = 'docpal.api_key';
  var $ = function (id) { return document.getElementById(id); };
  var parts = location.pathname.split('/').filter(Boolean);
  var slug = decodeURIComponent(parts[parts.length - 1] || '');

  function say(text) {
    $('status').textContent = text;
    $('error').hidden = true;
  }

  function fail(text) {
    $('status').textContent = '';
    $('error').textContent = text;
    $('error').hidden = false;
  }

  function askKey(message) {
    $('board').textContent = '';
    $('key-slug').textContent = slug;
    $('key-form').hidden = false;
    $('reload').hidden = true;
    $('forget').hidden = true;
    if (message) fail(message); else say('');
    $('key').focus();
  }

  // Places each widget on the 24-column grid (custom properties: the page's
  // policy allows no style attribute in markup) and wires the metric pickers.
  function arrange(root) {
    root.querySelectorAll('.dp-widget').forEach(function (w) {
      var x = +w.dataset.x, y = +w.dataset.y, width = +w.dataset.w, height = +w.dataset.h;
      w.style.setProperty('--col', (x + 1) + ' / span ' + width);
      w.style.setProperty('--row', (y + 1) + ' / span ' + height);
    });
    root.querySelectorAll('select.dp-metric').forEach(function (select) {
      var widget = select.closest('.dp-widget');
      select.addEventListener('change', function () {
        widget.querySelectorAll('.dp-figure').forEach(function (f) {
          f.hidden = f.dataset.metric !== select.value;
        });
      });
    });
  }

  function show() {
    var key = sessionStorage.getItem(KEY);
    if (!key) { askKey(); return; }
    $('key-form').hidden = true;
    $('reload').hidden = false;
    $('forget').hidden = false;
    $('board').setAttribute('aria-busy', 'true');
    say('Loading dashboard ' + slug + '\u2026');
    var url = '/app/dashboards/' + encodeURIComponent(slug) + '/charts';
    var params = new URLSearchParams(location.search).get('params');
    if (params) url += '?params=' + encodeURIComponent(params);
    fetch(url, {
      headers: { 'Authorization': 'Bearer ' + key }, credentials: 'omit', cache: 'no-store'
    }).then(function (r) {
      if (r.ok) return r.text();
      return r.json().catch(function () { return {}; }).then(function (b) {
        var text = (b.code ? b.code + ': ' : '') + (b.message || 'HTTP ' + r.status);
        if (r.status === 401) {
          sessionStorage.removeItem(KEY);
          askKey('The key was refused (' + text + '). Enter another one.');
          return null;
        }
        throw new Error(text);
      });
    }).then(function (html) {
      if (html === null) return;
      var board = $('board');
      board.innerHTML = html;
      arrange(board);
      var title = board.querySelector('h1');
      if (title) document.title = title.textContent + ' \u2013 docpal';
      say('Drawn at ' + new Date().toLocaleTimeString() + '.');
    }).catch(function (err) {
      fail('The dashboard could not be shown: ' + err.message);
    }).then(function () {
      $('board').setAttribute('aria-busy', 'false');
    });
  }

  $('key-form').addEventListener('submit', function (event) {
    event.preventDefault();
    var value = $('key').value.trim();
    if (!value) return;
    sessionStorage.setItem(KEY, value);
    $('key').value = '';
    show();
  });
  $('reload').addEventListener('click', show);
  $('forget').addEventListener('click', function () {
    sessionStorage.removeItem(KEY);
    askKey();
  });
  show();
})();
