/* Trading monitoring pages: monthly electricity (MWh) as bars, capacity factor as a line
 * where present; the rows are the ones the table and the CSV / Excel export carry. */
(function () {
  "use strict";
  var holder = document.getElementById("trading-chart-data");
  var el = document.getElementById("trading-chart");
  if (!holder || !el || !window.echarts) { return; }
  var rows = JSON.parse(holder.textContent);
  // series names in the page's language, from the template (data-labels)
  var L = Object.assign({generation: "发电量 (MWh)", ongrid: "上网电量 (MWh)",
                         settled: "结算电量 (MWh)", capacity: "容量系数"},
                        JSON.parse(el.dataset.labels || "{}"));
  var num = function (v) { return v === null || v === undefined ? null : Number(v); };
  var series = [
    {name: L.generation, type: "bar", data: rows.map(function (r) { return num(r.generation); })},
    {name: L.ongrid, type: "bar", data: rows.map(function (r) { return num(r.ongrid); })},
    {name: L.settled, type: "bar", data: rows.map(function (r) { return num(r.settled_mwh); })}
  ];
  var axes = [{type: "value", name: "MWh"}];
  if (rows.length && "capacity_factor" in rows[0]) {
    axes.push({type: "value", name: L.capacity, min: 0});
    series.push({name: L.capacity, type: "line", yAxisIndex: 1,
                 data: rows.map(function (r) { return num(r.capacity_factor); })});
  }
  var chart = window.echarts.init(el);
  chart.setOption({
    tooltip: {trigger: "axis", valueFormatter: function (v) {
      return v === null || v === undefined ? "—" : v.toLocaleString("zh-CN", {maximumFractionDigits: 4});
    }},
    legend: {}, grid: {left: 70, right: 60},
    xAxis: {type: "category", data: rows.map(function (r) { return r.month; })},
    yAxis: axes, series: series
  });
  window.addEventListener("resize", function () { chart.resize(); });
})();
