/* Under the Content-Security-Policy inline event handlers do not run. Flask-Admin's own
   templates still carry a few (`onclick="return modelActions.execute('x')"` and the like):
   they are read here, removed from the page, and done by listeners instead. Our own pages
   use `data-confirm="question"` on buttons and links. */
(function () {
  'use strict';
  function firstArg(code) {
    var m = /\(\s*(?:this\s*,\s*)?'((?:[^'\\]|\\.)*)'/.exec(code || '');
    return m ? m[1].replace(/\\(.)/g, '$1') : null;
  }
  function adopt(root) {
    root.querySelectorAll('[onclick]').forEach(function (el) {
      el.setAttribute('data-cecp-onclick', el.getAttribute('onclick'));
      el.removeAttribute('onclick');
    });
    root.querySelectorAll('a[href^="javascript:"]').forEach(function (el) {
      el.setAttribute('href', '#');
      el.setAttribute('data-cecp-noop', '1');
    });
  }
  function stop(ev) { ev.preventDefault(); ev.stopImmediatePropagation(); }
  document.addEventListener('click', function (ev) {
    var el = ev.target.closest && ev.target.closest('[data-confirm],[data-cecp-onclick],[data-cecp-noop]');
    if (!el) return;
    if (el.hasAttribute('data-confirm')) {
      if (!window.confirm(el.getAttribute('data-confirm'))) stop(ev);
      return;
    }
    var code = el.getAttribute('data-cecp-onclick') || el.getAttribute('data-cecp-onchange');
    if (el.hasAttribute('data-cecp-noop')) ev.preventDefault();
    if (!code) return;
    if (code.indexOf('modelActions.execute') >= 0 && window.modelActions) {
      ev.preventDefault();
      window.modelActions.execute(firstArg(code));
    } else if (code.indexOf('safeConfirm') >= 0 && window.faHelpers) {
      if (!window.faHelpers.safeConfirm(firstArg(code))) stop(ev);
    } else if (code.indexOf('confirm(') >= 0) {
      if (!window.confirm(firstArg(code))) stop(ev);
    } else if (code.indexOf('faForm.addInlineField') >= 0 && window.faForm) {
      ev.preventDefault();
      window.faForm.addInlineField(el, firstArg(code));
    } else if (/^\s*return false;?\s*$/.test(code)) {
      ev.preventDefault();
    }
  }, true);
  adopt(document);
  new MutationObserver(function (records) {
    records.forEach(function (r) {
      r.addedNodes.forEach(function (n) { if (n.querySelectorAll) adopt(n); });
    });
  }).observe(document.documentElement, {childList: true, subtree: true});
})();
