/* cecp process designer: bpmn-js modeler + validate / deploy through /api/v1/process-models. */
(function () {
  'use strict';
  var bar = document.getElementById('designer-toolbar');
  var messages = document.getElementById('designer-messages');
  var csrf = document.querySelector('meta[name="csrf-token"]').content;
  var modeler = new window.BpmnJS({ container: '#canvas' });
  var current = { name: 'process.bpmn', extras: {} };
  var marked = [];
  var BLANK = '<?xml version="1.0" encoding="UTF-8"?>\n' +
    '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" ' +
    'xmlns:bpmndi="http://www.omg.org/spec/BPMN/20100524/DI" xmlns:dc="http://www.omg.org/spec/DD/20100524/DC" ' +
    'id="Definitions_new" targetNamespace="http://cecp.example/bpmn">' +
    '<bpmn:process id="new_process" name="新流程" isExecutable="true"><bpmn:startEvent id="start" name="开始"/></bpmn:process>' +
    '<bpmndi:BPMNDiagram id="d"><bpmndi:BPMNPlane id="p" bpmnElement="new_process">' +
    '<bpmndi:BPMNShape id="start_di" bpmnElement="start"><dc:Bounds x="180" y="160" width="36" height="36"/></bpmndi:BPMNShape>' +
    '</bpmndi:BPMNPlane></bpmndi:BPMNDiagram></bpmn:definitions>';

  function show(kind, html) {
    messages.innerHTML = '<div class="alert alert-' + kind + '">' + html + '</div>';
  }
  function esc(s) {
    return String(s == null ? '' : s).replace(/[&<>"']/g, function (c) {
      return { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c];
    });
  }
  function clearMarkers() {
    var canvas = modeler.get('canvas');
    marked.forEach(function (id) { try { canvas.removeMarker(id, 'problem-marker'); } catch (e) { /* gone */ } });
    marked = [];
  }
  function showProblems(problems) {
    clearMarkers();
    if (!problems.length) { show('success', '校验通过，可以部署。'); return; }
    var canvas = modeler.get('canvas');
    var registry = modeler.get('elementRegistry');
    var items = problems.map(function (p) {
      if (p.element_id && registry.get(p.element_id)) {
        canvas.addMarker(p.element_id, 'problem-marker');
        marked.push(p.element_id);
      }
      return '<li><code>' + esc(p.file) + '</code>' + (p.element_id ? ' · <code>' + esc(p.element_id) + '</code>' : '') +
        '：' + esc(p.message) + '</li>';
    });
    show('danger', '<strong>发现 ' + problems.length + ' 个问题：</strong><ul class="mb-0" id="problem-list">' + items.join('') + '</ul>');
  }
  function open(xml, name) {
    current.name = name || current.name;
    return modeler.importXML(xml).then(function () {
      modeler.get('canvas').zoom('fit-viewport');
      clearMarkers();
      show('info', '已打开 ' + esc(current.name));
    }).catch(function (err) { show('danger', '无法打开：' + esc(err.message)); });
  }
  function formData() {
    return modeler.saveXML({ format: true }).then(function (res) {
      var fd = new FormData();
      fd.append('files', new Blob([res.xml], { type: 'application/xml' }), current.name);
      Object.keys(current.extras).forEach(function (n) { fd.append('files', current.extras[n], n); });
      return fd;
    });
  }
  function post(url, fd) {
    return fetch(url, { method: 'POST', body: fd, credentials: 'same-origin', headers: { 'X-CSRFToken': csrf } })
      .then(function (r) { return r.json().then(function (body) { return { status: r.status, body: body }; }); });
  }
  document.getElementById('btn-open').addEventListener('click', function () {
    var key = document.getElementById('model-select').value;
    if (!key) { current.extras = {}; open(BLANK, 'process.bpmn'); return; }
    var url = bar.dataset.fileUrl.replace('__KEY__', encodeURIComponent(key)).replace('__NAME__', encodeURIComponent(key + '.bpmn'));
    fetch(url, { credentials: 'same-origin' }).then(function (r) {
      if (!r.ok) { throw new Error('HTTP ' + r.status); }
      return r.text();
    }).then(function (xml) { current.extras = {}; open(xml, key + '.bpmn'); })
      .catch(function (e) { show('danger', '无法读取模型：' + esc(e.message)); });
  });
  document.getElementById('file-input').addEventListener('change', function (ev) {
    var f = ev.target.files[0];
    if (f) { f.text().then(function (xml) { open(xml, f.name); }); }
  });
  document.getElementById('extra-input').addEventListener('change', function (ev) {
    Array.prototype.forEach.call(ev.target.files, function (f) { current.extras[f.name] = f; });
    document.getElementById('extra-files').textContent = Object.keys(current.extras).join('、');
  });
  document.getElementById('btn-validate').addEventListener('click', function () {
    formData().then(function (fd) { return post(bar.dataset.validateUrl, fd); }).then(function (res) {
      if (res.status !== 200) { show('danger', esc((res.body.error || {}).message || '校验失败')); return; }
      showProblems(res.body.problems || []);
    });
  });
  var deployBtn = document.getElementById('btn-deploy');
  if (deployBtn) {
    deployBtn.addEventListener('click', function () {
      formData().then(function (fd) { return post(bar.dataset.deployUrl, fd); }).then(function (res) {
        if (res.status === 201) {
          clearMarkers();
          show('success', res.body.created ? '已部署：' + esc(res.body.model) + ' 版本 ' + res.body.version
            : '内容与已部署的版本 ' + res.body.version + ' 相同，未产生新版本。');
        } else if (res.body.error && res.body.error.problems) {
          showProblems(res.body.error.problems);
        } else {
          show('danger', esc((res.body.error || {}).message || ('部署失败 HTTP ' + res.status)));
        }
      });
    });
  }
  document.getElementById('btn-download').addEventListener('click', function () {
    modeler.saveXML({ format: true }).then(function (res) {
      var a = document.createElement('a');
      a.href = URL.createObjectURL(new Blob([res.xml], { type: 'application/xml' }));
      a.download = current.name;
      a.click();
    });
  });
  open(BLANK, 'process.bpmn');
}());
