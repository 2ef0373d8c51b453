/* Monitoring pages: draw every dataset embedded in the page with ECharts (the same rows
 * the table and the CSV / Excel export carry), table toggles, drill-down, auto-submitting
 * filters. No build step: plain ES2017 for Chrome, Firefox and Edge. */
(function () {
  "use strict";
  var holder = document.getElementById("monitoring-data");
  if (!holder) { return; }
  var data = JSON.parse(holder.textContent);
  var LABELS = data.labels || {};  // in the page's language (views: translate_tree)
  var charts = [];
  var PALETTE = ["#2f7d4a", "#3b82c4", "#e39b2d", "#c0504d", "#8064a2", "#4bacc6",
                 "#9bbb59", "#f79646", "#7f7f7f", "#1f497d", "#d16ba5", "#5a9e9e"];

  function col(ds, key) {
    for (var i = 0; i < ds.columns.length; i++) {
      if (ds.columns[i].key === key) { return i; }
    }
    return -1;
  }

  function fmt(v) {
    if (v === null || v === undefined) { return "—"; }
    return typeof v === "number" ? v.toLocaleString("zh-CN", {maximumFractionDigits: 4}) : v;
  }

  function option(ds) {
    var c = ds.chart || {};
    var xi = col(ds, c.x);
    var rows = ds.rows.slice(0, c.limit || ds.rows.length);
    var keys = c.series || [];
    var base = {
      color: c.colors && c.colors.length ? c.colors : PALETTE,
      tooltip: {trigger: c.type === "pie" ? "item" : "axis", valueFormatter: fmt},
      legend: {top: 0, type: "scroll"},
      grid: {left: 12, right: 24, top: 40, bottom: 34, containLabel: true},
      toolbox: {feature: {saveAsImage: {title: LABELS.save || "保存图片"}}},
      animation: false
    };
    if (c.type === "pie") {
      var vi = col(ds, keys[0]);
      base.series = [{
        type: "pie", radius: ["30%", "65%"], name: c.y_name,
        label: {formatter: "{b}\n{d}%"},
        data: rows.filter(function (r) { return r[vi] !== null && r[vi] > 0; })
          .map(function (r) { return {name: r[xi], value: r[vi]}; })
      }];
      base.title = {text: c.y_name, left: "center", bottom: 0, textStyle: {fontSize: 12}};
      return base;
    }
    var categories = rows.map(function (r) { return r[xi]; });
    var catAxis = {type: "category", data: categories, name: c.x_name,
                   nameLocation: c.horizontal ? "end" : "middle", nameGap: c.horizontal ? 15 : 26,
                   axisLabel: {interval: c.horizontal ? 0 : "auto", hideOverlap: true}};
    var valAxis = {type: "value", name: c.y_name, nameTextStyle: {align: "left"}};
    if (c.horizontal) {
      categories.reverse();
      base.xAxis = valAxis; base.yAxis = catAxis;
      valAxis.nameLocation = "middle"; valAxis.nameGap = 28;
    } else {
      base.xAxis = catAxis; base.yAxis = valAxis;
    }
    base.series = keys.map(function (k) {
      var i = col(ds, k);
      var values = rows.map(function (r) { return r[i]; });
      if (c.horizontal) { values.reverse(); }
      return {
        type: c.type === "stack" ? "bar" : c.type, name: ds.columns[i].label, data: values,
        stack: c.type === "stack" ? "total" : undefined, connectNulls: false,
        smooth: false, showSymbol: true, barMaxWidth: 32
      };
    });
    if (c.type === "line" || c.type === "bar") { base.dataZoom = categories.length > 40 ? [{type: "inside"}, {type: "slider", height: 14, bottom: 0}] : []; }
    return base;
  }

  function drill(ds, chart) {
    var d = ds.chart && ds.chart.drill;
    if (!d) { return; }
    var xi = col(ds, ds.chart.x), ki = col(ds, d.key);
    chart.on("click", function (p) {
      var row = ds.rows.filter(function (r) { return r[xi] === p.name; })[0];
      if (!row) { return; }
      var url = new URL(window.location.href);
      url.searchParams.set(d.param, row[ki]);
      url.searchParams.delete("page");
      window.location.href = url.toString();
    });
  }

  function draw() {
    if (!window.echarts) { return; }
    data.datasets.forEach(function (ds) {
      var el = document.getElementById("chart-" + ds.id);
      if (!el) { return; }
      if (!ds.rows.length) {
        var empty = document.createElement("p");
        empty.className = "text-muted small";
        empty.textContent = LABELS.empty || "暂无数据";
        el.replaceChildren(empty);
        el.style.height = "auto";
        return;
      }
      var chart = window.echarts.init(el, null, {renderer: "canvas"});
      chart.setOption(option(ds));
      drill(ds, chart);
      charts.push(chart);
    });
    window.addEventListener("resize", function () {
      charts.forEach(function (c) { c.resize(); });
    });
    window.cecpCharts = charts;
  }

  document.querySelectorAll(".toggle-table").forEach(function (btn) {
    btn.addEventListener("click", function () {
      var t = document.getElementById("table-" + btn.getAttribute("data-target"));
      if (t) { t.classList.toggle("d-none"); }
    });
  });
  var form = document.getElementById("filters");
  if (form) {
    form.querySelectorAll("[data-autosubmit]").forEach(function (el) {
      el.addEventListener("change", function () {
        var page = form.querySelector("[name=page]");
        if (page) { page.value = "1"; }
        if (form.requestSubmit) { form.requestSubmit(); } else { form.submit(); }
      });
    });
    form.addEventListener("submit", function () {
      /* keep shared links short: drop empty filters */
      form.querySelectorAll("input, select").forEach(function (el) {
        if (!el.value) { el.disabled = true; }
      });
    });
  }
  draw();
})();
