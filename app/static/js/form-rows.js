/* Repeating rows of a form (arrays of objects): "添加一行" copies the blank row with the
   next index in every cell name (name.<i>.<column>). No inline handlers (CSP). */
(function () {
  'use strict';
  if (window.cecpFormRows) { return; }
  window.cecpFormRows = true;
  document.addEventListener('click', function (ev) {
    var btn = ev.target.closest('.form-rows-add');
    if (!btn) { return; }
    var table = document.querySelector('table.form-rows[data-field="' + btn.dataset.field + '"]');
    var blank = table.querySelector('tr.form-rows-blank');
    var index = table.tBodies[0].rows.length;
    var copy = blank.cloneNode(true);
    copy.querySelectorAll('[name]').forEach(function (el) {
      el.name = el.name.replace(/\.\d+\./, '.' + index + '.');
      if (el.type === 'checkbox') { el.checked = false; } else { el.value = ''; }
    });
    copy.querySelectorAll('.invalid-feedback').forEach(function (el) { el.remove(); });
    table.tBodies[0].appendChild(copy);
  });
}());
