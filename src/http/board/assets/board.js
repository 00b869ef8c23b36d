/* global document, window */
// The release board in the browser: refreshes its content every few seconds without a reload,
// and sends the decision buttons as JSON so the answer shows next to them. Without this script
// the same forms still work as plain posts.
'use strict';
(function () {
  var REFRESH_MS = 3000;
  var content = document.getElementById('board-content');
  var csrf = (document.querySelector('meta[name="csrf-token"]') || {}).content || '';
  var results = {}; // workflowId -> {text, kind}: shown again after each refresh
  var busy = 0;
  var etag = '';
  var timer;

  function resultFor(form) {
    return form.querySelector('.result');
  }

  function show(form, text, kind) {
    var el = resultFor(form);
    if (!el) return;
    el.textContent = text;
    el.className = 'result ' + kind;
    results[form.getAttribute('data-workflow')] = { text: text, kind: kind };
  }

  function restore() {
    var forms = content.querySelectorAll('form.decide');
    for (var i = 0; i < forms.length; i++) {
      var saved = results[forms[i].getAttribute('data-workflow')];
      if (saved) {
        var el = resultFor(forms[i]);
        el.textContent = saved.text;
        el.className = 'result ' + saved.kind;
      }
    }
  }

  function describe(decision) {
    return (
      decision.decision +
      ' by ' +
      decision.by +
      ' at ' +
      decision.at +
      (decision.reason ? ': ' + decision.reason : '')
    );
  }

  async function send(form, decision) {
    var release = form.getAttribute('data-release');
    var confirmed = false;
    if (decision === 'emergency') {
      confirmed = window.confirm(
        'Declare an EMERGENCY for ' +
          release +
          '?\n\nThis pages operations, takes staging away from whoever holds it and opens a HOT incident.',
      );
      if (!confirmed) {
        show(form, 'Emergency not sent: it was not confirmed.', 'refused');
        return;
      }
    }
    var buttons = form.querySelectorAll('button');
    for (var i = 0; i < buttons.length; i++) buttons[i].disabled = true;
    busy++;
    show(form, 'Sending ' + decision + '…', 'pending');
    try {
      var response = await fetch('/board/decide', {
        method: 'POST',
        credentials: 'same-origin',
        headers: { 'content-type': 'application/json', 'x-csrf-token': csrf, accept: 'application/json' },
        body: JSON.stringify({
          workflowId: form.getAttribute('data-workflow'),
          decision: decision,
          reason: form.querySelector('input[name="reason"]').value,
          confirm: confirmed,
        }),
      });
      var body = await response.json().catch(function () {
        return { accepted: false, reason: 'the server answered ' + response.status };
      });
      if (body.accepted) show(form, 'Accepted: ' + describe(body.decision), 'accepted');
      else show(form, 'Refused: ' + body.reason, 'refused');
    } catch (err) {
      show(form, 'Not sent: the board could not be reached (' + err.message + ')', 'refused');
    } finally {
      busy--;
      for (var j = 0; j < buttons.length; j++) buttons[j].disabled = false;
      refreshSoon(300);
    }
  }

  document.addEventListener('submit', function (event) {
    var form = event.target;
    if (!form.classList || !form.classList.contains('decide')) return;
    event.preventDefault();
    var submitter = event.submitter;
    if (!submitter || !submitter.value) return;
    send(form, submitter.value);
  });

  async function refresh() {
    if (busy || !content) return refreshSoon(REFRESH_MS);
    try {
      var response = await fetch('/board/fragment', {
        credentials: 'same-origin',
        headers: etag ? { 'if-none-match': etag } : {},
      });
      if (response.status === 200) {
        etag = response.headers.get('etag') || '';
        var html = await response.text();
        if (!busy) {
          // Keep what a person is typing, and where their focus is.
          var active = document.activeElement && document.activeElement.id;
          var typed = {};
          var inputs = content.querySelectorAll('input[name="reason"]');
          for (var i = 0; i < inputs.length; i++) typed[inputs[i].id] = inputs[i].value;
          var open = {};
          var details = content.querySelectorAll('details');
          for (var d = 0; d < details.length; d++) open[d] = details[d].open;
          content.innerHTML = html;
          for (var id in typed) {
            var el = document.getElementById(id);
            if (el) el.value = typed[id];
          }
          var after = content.querySelectorAll('details');
          if (after.length === details.length) for (var k = 0; k < after.length; k++) after[k].open = open[k];
          restore();
          if (active) {
            var again = document.getElementById(active);
            if (again) again.focus();
          }
        }
        setLive('live');
      } else if (response.status === 304) {
        setLive('live');
      } else {
        setLive('the board answered ' + response.status);
      }
    } catch {
      setLive('offline: retrying');
    }
    refreshSoon(REFRESH_MS);
  }

  function setLive(text) {
    var el = document.getElementById('live-state');
    if (el) el.textContent = '(' + text + ')';
  }

  function refreshSoon(ms) {
    clearTimeout(timer);
    timer = setTimeout(refresh, ms);
  }

  refreshSoon(REFRESH_MS);
})();
