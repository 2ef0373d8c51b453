/* The case's process diagram (bpmn-js navigated viewer): the completed path in green, the
   current step highlighted. Data: GET /api/v1/process-instances/<id>/diagram. */
(function () {
  'use strict';
  var box = document.getElementById('case-diagram');
  if (!box || !window.BpmnJS) { return; }
  var viewer = new window.BpmnJS({ container: box });
  // captions in the page's language, from the template (data-labels; @ = the value)
  var L = Object.assign({current: '当前步骤：@', sep: '、', completed: '流程已结束', failed: '无法显示流程图：@'},
                        JSON.parse(box.dataset.labels || '{}'));
  fetch(box.dataset.url, { credentials: 'same-origin' }).then(function (r) {
    if (!r.ok) { throw new Error('HTTP ' + r.status); }
    return r.json();
  }).then(function (data) {
    return viewer.importXML(data.xml).then(function () { return data; });
  }).then(function (data) {
    var canvas = viewer.get('canvas');
    var registry = viewer.get('elementRegistry');
    var done = {};
    var now = {};
    data.completed.forEach(function (id) { done[id] = true; });
    data.current.forEach(function (id) { now[id] = true; });
    Object.keys(done).forEach(function (id) { if (registry.get(id)) { canvas.addMarker(id, 'path-done'); } });
    registry.filter(function (e) { return e.type === 'bpmn:SequenceFlow'; }).forEach(function (flow) {
      var s = flow.businessObject.sourceRef;
      var t = flow.businessObject.targetRef;
      if (s && t && done[s.id] && (done[t.id] || now[t.id])) { canvas.addMarker(flow.id, 'path-done'); }
    });
    Object.keys(now).forEach(function (id) { if (registry.get(id)) { canvas.addMarker(id, 'path-current'); } });
    canvas.zoom('fit-viewport', 'auto');
    box.dataset.ready = 'true';
    var names = data.current.map(function (id) {
      var el = registry.get(id);
      return el ? (el.businessObject.name || id) : id;
    });
    document.getElementById('case-diagram-caption').textContent =
      names.length ? L.current.replace('@', names.join(L.sep)) : (data.status === 'completed' ? L.completed : '');
  }).catch(function (err) {
    box.textContent = L.failed.replace('@', err.message);
  });
}());
