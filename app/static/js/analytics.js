// Forecast chart: history, forecast and its 95 % interval (a band between lower and upper).
(function () {
  var el = document.getElementById("forecast-chart");
  var raw = document.getElementById("forecast-data");
  if (!el || !raw || !window.echarts) return;
  var d = JSON.parse(raw.textContent || "{}");
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
      if (i < n) { out.push("实际：" + fmt(hist[i])); }
      else {
        var k = i - n;
        out.push("预测：" + fmt(d.values[k]));
        out.push("95% 区间：" + fmt(d.lower[k]) + " ～ " + fmt(d.upper[k]));
      }
      return out.join("<br>");
    }},
    legend: {data: ["实际", "预测", "95% 区间"]},
    xAxis: {type: "category", data: x},
    yAxis: {type: "value", name: d.measure_label + "（" + unit + "）",
            axisLabel: {formatter: function (v) { return Number(v).toLocaleString("zh-CN"); }}},
    series: [
      {name: "实际", type: "line", data: hist, connectNulls: false},
      {name: "预测", type: "line", data: fc, lineStyle: {type: "dashed"}},
      {name: "下限", type: "line", data: lower, stack: "band", lineStyle: {opacity: 0}, symbol: "none", tooltip: {show: false}},
      {name: "95% 区间", type: "line", data: band, stack: "band", lineStyle: {opacity: 0}, symbol: "none", areaStyle: {opacity: 0.2}}
    ]
  });
})();
