// Forecast chart: history, forecast and its 95 % interval (a band between lower and upper).
(function () {
  var el = document.getElementById("forecast-chart");
  var raw = document.getElementById("forecast-data");
  if (!el || !raw || !window.echarts) return;
  var d = JSON.parse(raw.textContent || "{}");
  // series names in the page's language, from the template (data-labels)
  var L = Object.assign({actual: "实际", forecast: "预测", interval: "95% 区间", lower: "下限"},
                        JSON.parse(el.dataset.labels || "{}"));
  var sep = document.documentElement.lang === "en" ? ": " : "：";
  if (!d.history) return;
  function label(p) { return Math.floor(p / 100) + "-" + String(p % 100).padStart(2, "0"); }
  var x = d.history.map(function (h) { return label(h.period); }).concat(d.periods.map(label));
  var n = d.history.length;
  var hist = d.history.map(function (h) { return h.value === null ? null : Number(h.value); });
  var pad = new Array(n).fill(null);
  var fc = pad.slice(0, n - 1).concat([hist[n - 1]]).concat(d.values.map(Number));
  var lower = pad.concat(d.lower.map(Number));
  var band = pad.concat(d.upper.map(function (u, i) { return Number(u) - Number(d.lower[i]); }));
  var unit = d.unit || "";
  var fmt = function (v) { return v === null || v === undefined ? "—" : Number(v).toLocaleString("zh-CN", {maximumFractionDigits: 2}) + " " + unit; };
  echarts.init(el).setOption({
    animation: false,
    tooltip: {trigger: "axis", formatter: function (ps) {
      var i = ps[0].dataIndex, out = [x[i]];
      if (i < n) { out.push(L.actual + sep + fmt(hist[i])); }
      else {
        var k = i - n;
        out.push(L.forecast + sep + fmt(d.values[k]));
        out.push(L.interval + sep + fmt(d.lower[k]) + " ～ " + fmt(d.upper[k]));
      }
      return out.join("<br>");
    }},
    legend: {data: [L.actual, L.forecast, L.interval]},
    xAxis: {type: "category", data: x},
    yAxis: {type: "value", name: d.measure_label + (sep === ": " ? " (" + unit + ")" : "（" + unit + "）"),
            axisLabel: {formatter: function (v) { return Number(v).toLocaleString("zh-CN"); }}},
    series: [
      {name: L.actual, type: "line", data: hist, connectNulls: false},
      {name: L.forecast, type: "line", data: fc, lineStyle: {type: "dashed"}},
      {name: L.lower, type: "line", data: lower, stack: "band", lineStyle: {opacity: 0}, symbol: "none", tooltip: {show: false}},
      {name: L.interval, type: "line", data: band, stack: "band", lineStyle: {opacity: 0}, symbol: "none", areaStyle: {opacity: 0.2}}
    ]
  });
})();
