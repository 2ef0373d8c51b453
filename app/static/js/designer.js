/* cecp process designer: bpmn-js modeler with its properties panel (Camunda 7 provider),
   lane -> role mapping and the starting pool for the deploy, version history with what
   changed, errors apart from warnings. Talks to /api/v1/process-models. */
(function () {
  'use strict';
  var bar = document.getElementById('designer-toolbar');
  var messages = document.getElementById('designer-messages');
  var warningsBox = document.getElementById('designer-warnings');
  var csrf = document.querySelector('meta[name="csrf-token"]').content;
  var ROLES = JSON.parse(document.getElementById('designer-roles').textContent);
  var ZH = {
    'General': '常规', 'Name': '名称', 'ID': '标识 ID', 'Documentation': '文档',
    'Element documentation': '元素说明', 'Forms': '表单', 'Form key': '表单键（formKey）',
    'Form fields': '表单字段', 'Type': '类型', 'Label': '标签', 'Default value': '默认值',
    'Condition': '条件', 'Condition type': '条件类型', 'Expression': '表达式', 'Script': '脚本',
    'Timer': '定时器', 'Type ': '类型', 'Value': '值', 'Implementation': '实现方式',
    'Topic': '主题（外部任务）', 'External': '外部任务', 'Inputs': '输入', 'Outputs': '输出',
    'Multi-instance': '多实例', 'Collection': '集合', 'Element variable': '元素变量',
    'Loop cardinality': '循环次数', 'Asynchronous continuations': '异步继续',
    'Execution listeners': '执行监听器', 'Extension properties': '扩展属性',
    'User assignment': '办理人', 'Candidate groups': '候选组', 'Process': '流程',
    'Executable': '可执行', 'Message': '消息', 'Global message reference': '消息引用',
    'Create new ...': '新建…', 'Activate the global connect tool': '连线工具',
    'Activate the hand tool': '抓手工具', 'Activate the lasso tool': '框选工具',
    'Activate the create/remove space tool': '空间工具', 'Create StartEvent': '开始事件',
    'Create EndEvent': '结束事件', 'Create Task': '任务', 'Create Gateway': '网关',
    'Create Intermediate/Boundary Event': '中间/边界事件', 'Create Pool/Participant': '泳池',
    'Create expanded SubProcess': '子流程', 'Create DataObjectReference': '数据对象',
    'Create DataStoreReference': '数据存储', 'Create Group': '分组',
    'Append task': '追加任务', 'Append end event': '追加结束事件', 'Append gateway': '追加网关',
    'Connect using Sequence/MessageFlow or Association': '连线', 'Change type': '更改类型',
    'Delete': '删除', 'Add lane above': '上方加泳道', 'Add lane below': '下方加泳道',
    'Divide into two lanes': '分为两条泳道', 'Divide into three lanes': '分为三条泳道'
  };
  // bpmn-js speaks English by itself: the Chinese dictionary only on a Chinese page
  var modeler = window.CecpDesigner.create({ container: '#canvas', panel: '#properties',
    translations: document.documentElement.lang === 'en' ? {} : ZH });
  var current = { name: 'process.bpmn', key: null, extras: {}, laneRoles: {} };
  var marked = [];
  var BLANK = '<?xml version="1.0" encoding="UTF-8"?>\n' +
    '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" ' +
    'xmlns:bpmndi="http://www.omg.org/spec/BPMN/20100524/DI" xmlns:dc="http://www.omg.org/spec/DD/20100524/DC" ' +
    'id="Definitions_new" targetNamespace="http://cecp.example/bpmn">' +
    '<bpmn:process id="new_process" name="新流程" isExecutable="true"><bpmn:startEvent id="start" name="开始"/></bpmn:process>' +
    '<bpmndi:BPMNDiagram id="d"><bpmndi:BPMNPlane id="p" bpmnElement="new_process">' +
    '<bpmndi:BPMNShape id="start_di" bpmnElement="start"><dc:Bounds x="180" y="160" width="36" height="36"/></bpmndi:BPMNShape>' +
    '</bpmndi:BPMNPlane></bpmndi:BPMNDiagram></bpmn:definitions>';

  function esc(s) {
    return String(s == null ? '' : s).replace(/[&<>"']/g, function (c) {
      return { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c];
    });
  }
  function show(kind, html) {
    messages.innerHTML = '<div class="alert alert-' + kind + '" role="status">' + html + '</div>';
  }
  function url(template, key) {
    return template.replace('__KEY__', encodeURIComponent(key));
  }
  function clearMarkers() {
    var canvas = modeler.get('canvas');
    marked.forEach(function (m) { try { canvas.removeMarker(m[0], m[1]); } catch (e) { /* gone */ } });
    marked = [];
  }
  function mark(id, cls) {
    if (id && modeler.get('elementRegistry').get(id)) {
      modeler.get('canvas').addMarker(id, cls);
      marked.push([id, cls]);
    }
  }
  function listItems(list, cls) {
    return list.map(function (p) {
      mark(p.element_id, cls);
      return '<li><code>' + esc(p.file) + '</code>' + (p.element_id ? ' · <code>' + esc(p.element_id) + '</code>' : '') +
        '：' + esc(p.message) + '</li>';
    }).join('');
  }
  /* errors (refused) and warnings (deployable) are shown apart */
  function showReport(problems, warnings, okText) {
    clearMarkers();
    warningsBox.innerHTML = '';
    if (problems.length) {
      show('danger', '<strong>发现 ' + problems.length + ' 个错误（不能部署）：</strong><ul class="mb-0" id="problem-list">' +
        listItems(problems, 'problem-marker') + '</ul>');
    } else {
      show('success', okText);
    }
    if (warnings && warnings.length) {
      warningsBox.innerHTML = '<div class="alert alert-warning" role="status"><strong>' + warnings.length +
        ' 个提示（不影响部署）：</strong><ul class="mb-0" id="warning-list">' + listItems(warnings, 'warning-marker') + '</ul></div>';
    }
  }

  /* The palette sits at the top left of the canvas: fit the diagram into the space right of
     it, never below it, and never smaller than a readable scale. */
  function fitBesidePalette() {
    var canvas = modeler.get('canvas');
    var container = document.getElementById('canvas');
    var palette = container.querySelector('.djs-palette');
    var left = palette ? palette.getBoundingClientRect().right - container.getBoundingClientRect().left + 24 : 24;
    canvas.zoom('fit-viewport');
    var vb = canvas.viewbox();
    var inner = vb.inner;
    if (!inner.width || !inner.height) { return; }
    var width = container.clientWidth - left - 24;
    var height = container.clientHeight - 48;
    var scale = Math.min(width / inner.width, height / inner.height, 1);
    scale = Math.max(scale, 0.45);
    canvas.viewbox({
      x: inner.x - left / scale, y: inner.y - 24 / scale,
      width: container.clientWidth / scale, height: container.clientHeight / scale
    });
  }
  function hasDiagram(xml) {
    return /<(\w+:)?BPMNShape\b/.test(xml);
  }
  function open(xml, name) {
    current.name = name || current.name;
    var ready = hasDiagram(xml) ? Promise.resolve(xml) : window.CecpDesigner.layoutProcess(xml);
    document.querySelector('#lane-table tbody').innerHTML = '';
    return ready.then(function (laidOut) { return modeler.importXML(laidOut); }).then(function () {
      fitBesidePalette();
      clearMarkers();
      warningsBox.innerHTML = '';
      refreshDeployOptions();
      show('info', '已打开 ' + esc(current.name) + (hasDiagram(xml) ? '' : '（原文件没有图形信息，已自动排版）'));
    }).catch(function (err) { show('danger', '无法打开：' + esc(err.message)); });
  }

  /* ---- deploy options: pools and lanes found in the diagram ---- */
  function elementsOf(type) {
    return modeler.get('elementRegistry').filter(function (e) { return e.type === type; });
  }
  function roleFor(name) {
    var low = String(name || '').trim().toLowerCase();
    var hit = ROLES.filter(function (r) { return r.name === low || r.label.toLowerCase() === low; })[0];
    return hit ? hit.name : '';
  }
  function refreshDeployOptions() {
    Object.keys(laneRoles()).forEach(function (k) { current.laneRoles[k] = laneRoles()[k]; });
    var pools = elementsOf('bpmn:Participant').filter(function (p) {
      var ref = p.businessObject.processRef;
      return ref && ref.isExecutable;
    });
    var choice = document.getElementById('process-choice');
    var select = document.getElementById('process-select');
    choice.hidden = pools.length < 2;
    select.innerHTML = pools.map(function (p) {
      var ref = p.businessObject.processRef;
      return '<option value="' + esc(ref.id) + '">' + esc(p.businessObject.name || ref.name || ref.id) + '（' + esc(ref.id) + '）</option>';
    }).join('');
    var names = [];
    elementsOf('bpmn:Lane').forEach(function (l) {
      var n = l.businessObject.name;
      if (n && names.indexOf(n) < 0) { names.push(n); }
    });
    var rows = names.map(function (n) {
      var isRole = ROLES.some(function (r) { return r.name === n; });
      var chosen = current.laneRoles[n] || roleFor(n);
      var options = '<option value="">' + (isRole ? '（即角色 ' + esc(n) + '）' : '— 未映射 —') + '</option>' +
        ROLES.map(function (r) {
          return '<option value="' + esc(r.name) + '"' + (chosen === r.name && !isRole ? ' selected' : '') + '>' + esc(r.label) + '（' + esc(r.name) + '）</option>';
        }).join('');
      return '<tr><td>' + esc(n) + '</td><td><select class="form-select form-select-sm lane-role" aria-label="泳道「' + esc(n) +
        '」对应的角色" data-lane="' + esc(n) + '"' + (isRole ? ' disabled' : '') + '>' + options + '</select></td></tr>';
    });
    document.querySelector('#lane-table tbody').innerHTML = rows.join('') ||
      '<tr><td colspan="2" class="text-muted">没有泳道：用户任务由流程发起人办理</td></tr>';
  }
  function laneRoles() {
    var out = {};
    document.querySelectorAll('select.lane-role').forEach(function (s) {
      if (!s.disabled && s.value) { out[s.dataset.lane] = s.value; }
    });
    return out;
  }

  /* ---- version history ---- */
  function describe(changes) {
    var parts = [];
    function names(list) { return list.map(function (e) { return esc(e.name || e.id) + '<span class="text-muted">（' + esc(e.type) + '）</span>'; }).join('、'); }
    if (changes.added.length) { parts.push('新增 ' + names(changes.added)); }
    if (changes.removed.length) { parts.push('删除 ' + names(changes.removed)); }
    if (changes.changed.length) { parts.push('修改 ' + names(changes.changed)); }
    var files = changes.files;
    var f = files.added.concat(files.changed).filter(function (n) { return !/\.(bpmn|xml)$/i.test(n); });
    if (f.length) { parts.push('文件 ' + f.map(esc).join('、')); }
    return parts.join('；') || '无元素变化';
  }
  function loadVersions(key) {
    var list = document.getElementById('version-list');
    fetch(url(bar.dataset.versionsUrl, key), { credentials: 'same-origin' }).then(function (r) { return r.json(); })
      .then(function (body) {
        var latest = body.versions[0];
        current.laneRoles = latest ? latest.lane_roles || {} : {};
        refreshDeployOptions();
        if (latest && latest.process_id) { document.getElementById('process-select').value = latest.process_id; }
        list.innerHTML = body.versions.map(function (v, i) {
          return '<li class="mb-1" data-version="' + v.version + '"><strong>v' + v.version + '</strong> ' +
            esc(v.deployed_at.replace('T', ' ').slice(0, 16)) + ' UTC · ' + esc(v.deployed_by || '') +
            '<br>' + describe(v.changes) +
            (i === 0 && (v.changes.added.length || v.changes.changed.length) && body.versions.length > 1
              ? ' <button type="button" class="btn btn-link btn-sm p-0 show-diff">在图上标出</button>' : '') + '</li>';
        }).join('');
        var btn = list.querySelector('.show-diff');
        if (btn) {
          btn.addEventListener('click', function () {
            clearMarkers();
            latest.changes.added.forEach(function (e) { mark(e.id, 'diff-added'); });
            latest.changes.changed.forEach(function (e) { mark(e.id, 'diff-changed'); });
            show('info', '绿色：本版本新增；蓝色：本版本修改。');
          });
        }
      }).catch(function () { list.innerHTML = '<li class="text-muted">无法读取版本历史</li>'; });
  }

  /* ---- actions ---- */
  function formData() {
    return modeler.saveXML({ format: true }).then(function (res) {
      var fd = new FormData();
      fd.append('files', new Blob([res.xml], { type: 'application/xml' }), current.name);
      Object.keys(current.extras).forEach(function (n) { fd.append('files', current.extras[n], n); });
      fd.append('lane_roles', JSON.stringify(laneRoles()));
      if (!document.getElementById('process-choice').hidden) {
        fd.append('process_id', document.getElementById('process-select').value);
      }
      return fd;
    });
  }
  function post(target, fd) {
    return fetch(target, { method: 'POST', body: fd, credentials: 'same-origin', headers: { 'X-CSRFToken': csrf } })
      .then(function (r) { return r.json().then(function (body) { return { status: r.status, body: body }; }); });
  }
  document.getElementById('btn-open').addEventListener('click', function () {
    var key = document.getElementById('model-select').value;
    current.laneRoles = {};
    if (!key) { current.extras = {}; current.key = null; open(BLANK, 'process.bpmn'); return; }
    var fileUrl = url(bar.dataset.fileUrl, key).replace('__NAME__', encodeURIComponent(key + '.bpmn'));
    fetch(fileUrl, { credentials: 'same-origin' }).then(function (r) {
      if (!r.ok) { throw new Error('HTTP ' + r.status); }
      return r.text();
    }).then(function (xml) {
      current.extras = {};
      current.key = key;
      return open(xml, key + '.bpmn').then(function () { loadVersions(key); });
    }).catch(function (e) { show('danger', '无法读取模型：' + esc(e.message)); });
  });
  document.getElementById('file-input').addEventListener('change', function (ev) {
    var f = ev.target.files[0];
    if (f) { current.laneRoles = {}; f.text().then(function (xml) { open(xml, f.name); }); }
  });
  document.getElementById('extra-input').addEventListener('change', function (ev) {
    Array.prototype.forEach.call(ev.target.files, function (f) { current.extras[f.name] = f; });
    document.getElementById('extra-files').textContent = Object.keys(current.extras).join('、');
  });
  document.getElementById('btn-validate').addEventListener('click', function () {
    formData().then(function (fd) { return post(bar.dataset.validateUrl, fd); }).then(function (res) {
      if (res.status !== 200) { show('danger', esc((res.body.error || {}).message || '校验失败')); return; }
      showReport(res.body.problems || [], res.body.warnings || [], '校验通过，可以部署。');
    });
  });
  var deployBtn = document.getElementById('btn-deploy');
  if (deployBtn) {
    deployBtn.addEventListener('click', function () {
      formData().then(function (fd) { return post(bar.dataset.deployUrl, fd); }).then(function (res) {
        var body = res.body;
        if (res.status === 201) {
          var partners = (body.partners || []).map(function (p) {
            return esc(p.model) + ' 版本 ' + p.version;
          });
          showReport([], body.warnings || [], (body.created ? '已部署：' + esc(body.model) + ' 版本 ' + body.version
            : '内容与已部署的版本 ' + body.version + ' 相同，未产生新版本。') +
            (partners.length ? '（通过消息流协作的流程一并部署：' + partners.join('、') + '）' : ''));
          current.key = body.model;
          loadVersions(body.model);
        } else if (body.error && body.error.problems) {
          showReport(body.error.problems, body.error.warnings || [], '');
        } else {
          show('danger', esc((body.error || {}).message || ('部署失败 HTTP ' + res.status)));
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
  modeler.on('elements.changed', function () { window.clearTimeout(current.t); current.t = window.setTimeout(refreshDeployOptions, 300); });
  window.cecpDesigner = modeler;  // the browser tests read the element registry
  open(BLANK, 'process.bpmn');
}());
