// cnncalc report: the table, totals, bars, receptive-field plot and diagram links of a self-contained page.
// Written for cnncalc (MIT); no third-party code, nothing fetched. Data: the JSON in #cnncalc-data, one object per
// network, as `cnncalc summary --format json` prints it plus activation_bytes and groups per layer.
(function () {
  "use strict";
  const started = performance.now();
  const DATA = JSON.parse(document.getElementById("cnncalc-data").textContent);
  const SVGNS = "http://www.w3.org/2000/svg";
  const select = document.getElementById("metric");
  let metric = "macs";

  const exact = (n) => String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ",");  // 1234567 → 1,234,567
  const ESC = {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;"};
  const esc = (s) => String(s).replace(/[&<>"]/g, (c) => ESC[c]);
  function human(n) {
    const units = [["T", 1e12], ["G", 1e9], ["M", 1e6], ["K", 1e3]];
    for (const [u, s] of units) if (Math.abs(n) >= s) return (n / s).toFixed(2) + u;
    return String(n);
  }
  function bytes(n) {
    const units = ["B", "KiB", "MiB", "GiB", "TiB"];
    let v = n, k = 0;
    while (Math.abs(v) >= 1024 && k < units.length - 1) { v /= 1024; k++; }
    return k ? v.toFixed(2) + " " + units[k] : v + " B";
  }
  const shape = (s) => (s || []).join("×");
  function axes(rf) {
    if (!rf || rf.global) return "global";
    const size = rf.size || [];
    const text = size.every((v) => v === size[0]) ? String(size[0]) : size.join("×");
    return rf.aligned ? text : text + " †";
  }
  const rfSize = (rf) => (rf && !rf.global && rf.size ? Math.max.apply(null, rf.size) : null);
  function heat(share) {  // white for nothing to orange for the heaviest, as the SVG draws it
    if (!(share > 0)) return "#ffffff";
    const g = Math.round(255 - 110 * share), b = Math.round(255 - 200 * share);
    return "#ff" + g.toString(16).padStart(2, "0") + b.toString(16).padStart(2, "0");
  }
  function el(tag, attrs, text) {
    const e = document.createElement(tag);
    for (const k in attrs || {}) e.setAttribute(k, attrs[k]);
    if (text !== undefined) e.textContent = text;
    return e;
  }
  function relative(name, parent) {
    return parent && name.startsWith(parent + ".") ? name.slice(parent.length + 1) : name;
  }

  const COLUMNS = [
    {key: "name", head: "Layer"}, {key: "type", head: "Type"}, {key: "output", head: "Output", num: true},
    {key: "params", head: "Params", num: true}, {key: "macs", head: "MACs", num: true},
    {key: "flops", head: "FLOPs", num: true}, {key: "activation_bytes", head: "Act. mem", num: true},
    {key: "rf", head: "RF", num: true}, {key: "bar", head: "", bar: true},
  ];
  function cellText(layer, key) {
    if (key === "output") return shape(layer.output);
    if (key === "activation_bytes") return bytes(layer.activation_bytes);
    if (key === "rf") return axes(layer.receptive_field);
    if (key === "params" || key === "macs" || key === "flops") return layer[key] ? human(layer[key]) : "-";
    return layer[key];
  }
  function sortValue(layer, key) {
    if (key === "output") return (layer.output || []).reduce((a, b) => a * b, 1);
    if (key === "rf") { const r = rfSize(layer.receptive_field); return r === null ? Infinity : r; }
    return layer[key];
  }

  function View(section, data) {
    this.section = section;
    this.data = data;
    this.collapsed = new Set();
    this.sort = null;  // [key, direction] or null for the tree
    this.byName = new Map(data.layers.map((l) => [l.name, l]));
    this.meta();
    this.totals();
    this.table();
    this.graph();
    this.rfPlot();
  }

  View.prototype.meta = function () {
    const d = this.data;
    const meta = this.section.querySelector(".meta");
    meta.textContent = d.input ? `input ${shape(d.input)} · batch ${d.batch} · ${d.dtype} · ${d.source}` : d.source;
    if (d.error) {
      const e = el("p", {class: "error"}, (d.error.location ? d.error.location + ": " : "") + "error: " + d.error.message);
      meta.after(e);
    }
  };

  View.prototype.totals = function () {
    const t = this.data.totals, box = this.section.querySelector(".totals");
    if (!t) return;
    const items = [
      ["Params", "params", `${exact(t.params)} (${human(t.params)}): ${exact(t.trainable_params)} trainable, ` +
        `${exact(t.non_trainable_params)} frozen; ${exact(t.buffers)} buffers`],
      ["MACs", "macs", `${exact(t.macs)} (${human(t.macs)})`],
      ["FLOPs", "flops", `${exact(t.flops)} (${human(t.flops)})`],
      ["Param memory", "param_bytes", `${bytes(t.param_bytes + t.buffer_bytes)} (params + buffers, ${this.data.dtype})`],
      ["Activations", "activation_bytes", `${bytes(t.activation_bytes)} all outputs (training), ` +
        `${bytes(t.peak_activation_bytes)} peak live (inference)`],
      ["Output", "output", shape(t.output)],
      ["Receptive field", "receptive_field", t.receptive_field.global ? "global (every output sees the whole input)"
        : axes(t.receptive_field)],
      ["Layers", "layers", exact(t.layers)],
    ];
    const dl = el("dl");
    for (const [label, key, text] of items) {
      dl.append(el("dt", {}, label));
      const dd = el("dd", {"data-total": key}, text);
      if (typeof t[key] === "number" && text.includes(exact(t[key]))) dd.setAttribute("data-value", String(t[key]));
      dl.append(dd);
    }
    box.append(dl);
  };

  // -- the table: a tree of containers (header rows) and layers, collapsible and sortable ---------------------------
  View.prototype.table = function () {
    const d = this.data, table = this.section.querySelector("table.layers");
    const head = el("tr");
    COLUMNS.forEach((c) => head.append(el("th", {"data-key": c.key, class: c.num ? "num" : ""}, c.bar ? "" : c.head)));
    head.addEventListener("click", (ev) => {
      const th = ev.target.closest("th");
      if (th && th.dataset.key !== "bar") this.sortBy(th.dataset.key);
    });
    this.barHead = head.lastChild;
    const thead = el("thead"); thead.append(head); table.append(thead);
    // the rows as one string of HTML (thousands of createElement calls cost more than parsing it)
    const html = [];
    const open = [];  // [group name, index of its header row in `html`] of the shown containers around the layer
    const outputs = [];  // per header row: the output of its last layer
    d.layers.forEach((layer, index) => {
      const groups = layer.groups || [];
      const shown = groups.filter((g) => (d.groups[g] || {}).kind !== "repeat");
      let keep = 0;
      while (keep < open.length && keep < shown.length && open[keep][0] === shown[keep]) keep++;
      open.length = keep;
      for (const g of shown.slice(keep)) {
        const parent = open.length ? open[open.length - 1][0] : "";
        html.push(null);  // filled below, once the output is known
        outputs.push([html.length - 1, g, parent, open.length, groups.slice(0, groups.indexOf(g)).join(" ")]);
        open.push([g, outputs.length - 1]);
      }
      for (const [, k] of open) outputs[k][5] = layer.output;  // a block shows what it produces
      const parent = open.length ? open[open.length - 1][0] : "";
      const cells = COLUMNS.map((c) => {
        if (c.key === "name") {
          return `<td class="name" title="${esc(layer.name)}" style="padding-left:${(1.6 + 1.1 * open.length).toFixed(1)}em">` +
            `${esc(relative(layer.name, parent))}</td>`;
        }
        if (c.bar) return '<td class="bar"><span></span></td>';
        return `<td class="${c.num ? "num" : c.key}">${esc(cellText(layer, c.key))}</td>`;
      });
      html.push(`<tr class="layer" data-name="${esc(layer.name)}" data-index="${index}" data-level="${open.length}" ` +
                `data-groups="${esc(groups.join(" "))}">${cells.join("")}</tr>`);
    });
    const blanks = COLUMNS.slice(3).map((c) => `<td class="${c.num ? "num" : ""}"></td>`).join("");
    for (const [at, g, parent, level, around, output] of outputs) {
      html[at] = `<tr class="group" data-group="${esc(g)}" data-level="${level}" data-groups="${esc(around)}">` +
        `<td class="name" style="padding-left:${(0.3 + 1.1 * level).toFixed(1)}em"><button class="toggle" ` +
        `title="fold or unfold ${esc(g)}" aria-expanded="true">▾</button>${esc(relative(g, parent))}</td>` +
        `<td class="type">${esc((d.groups[g] || {}).label || "")}</td><td class="num">${esc(shape(output))}</td>` +
        `${blanks}</tr>`;
    }
    const tbody = el("tbody");
    tbody.innerHTML = html.join("");
    this.tbody = tbody;
    this.rows = Array.from(tbody.rows);  // every tr in tree order
    this.layerRows = new Map();
    for (const tr of this.rows) if (tr.dataset.name) this.layerRows.set(tr.dataset.name, tr);
    tbody.addEventListener("click", (ev) => {
      const tr = ev.target.closest("tr");
      if (!tr) return;
      if (ev.target.closest(".toggle")) this.toggle(tr.dataset.group);
      else if (tr.dataset.name) this.select(tr.dataset.name, "row");
    });
    this.treeOrder = this.rows.slice();
    this.bars();
    table.append(tbody);
  };

  View.prototype.bars = function () {
    const key = metric, layers = this.data.layers;
    const top = Math.max(1, ...layers.map((l) => l[key] || 0));
    const total = layers.reduce((a, l) => a + (l[key] || 0), 0) || 1;
    this.barHead.textContent = (this.data.metrics[key] || key) + " share";
    for (const l of layers) {
      const span = this.layerRows.get(l.name).lastChild.firstChild;
      span.style.width = (100 * (l[key] || 0) / top).toFixed(2) + "%";
      span.title = `${exact(l[key] || 0)} (${(100 * (l[key] || 0) / total).toFixed(1)} %)`;
    }
  };

  View.prototype.sortBy = function (key) {
    const current = this.sort && this.sort[0] === key ? this.sort[1] : 0;
    const next = current === 0 ? -1 : current === -1 ? 1 : 0;  // largest first, smallest first, tree order
    this.sort = next ? [key, next] : null;
    this.section.querySelectorAll("th").forEach((th) => {
      th.classList.toggle("sorted-desc", next === -1 && th.dataset.key === key);
      th.classList.toggle("sorted-asc", next === 1 && th.dataset.key === key);
    });
    let order = this.treeOrder;
    if (next) {
      const layers = this.treeOrder.filter((tr) => tr.classList.contains("layer"));
      order = layers.sort((a, b) => {
        const la = this.byName.get(a.dataset.name), lb = this.byName.get(b.dataset.name);
        const va = sortValue(la, key), vb = sortValue(lb, key);
        const c = typeof va === "string" ? va.localeCompare(vb) : va - vb;
        return next * c || Number(a.dataset.index) - Number(b.dataset.index);
      });
    }
    const frag = document.createDocumentFragment();
    order.forEach((tr) => frag.append(tr));
    this.tbody.append(frag);
    this.applyCollapse();
  };

  // -- folding: a container's rows, its nodes, edges and inner frames hide together --------------------------------
  View.prototype.toggle = function (group) {
    if (this.collapsed.has(group)) this.collapsed.delete(group); else this.collapsed.add(group);
    this.applyCollapse();
  };

  View.prototype.isHidden = function (groups) {
    for (const g of groups) if (this.collapsed.has(g)) return true;
    return false;
  };

  View.prototype.applyCollapse = function () {
    const sorted = this.sort !== null;
    for (const tr of this.rows) {
      const groups = tr.dataset.groups ? tr.dataset.groups.split(" ") : [];
      const header = tr.classList.contains("group");
      tr.hidden = sorted ? header : this.isHidden(groups);
      if (header) {
        const folded = this.collapsed.has(tr.dataset.group);
        const button = tr.querySelector(".toggle");
        button.textContent = folded ? "▸" : "▾";
        button.setAttribute("aria-expanded", String(!folded));
        tr.classList.toggle("folded", folded);
      }
    }
    if (!this.svg) return;
    const hidden = new Set();
    this.svg.querySelectorAll("g.node").forEach((node) => {
      const layer = this.byName.get(node.dataset.name);
      const off = layer ? this.isHidden(layer.groups || []) : false;
      node.style.display = off ? "none" : "";
      if (off) hidden.add(node.dataset.name);
    });
    this.svg.querySelectorAll("path.edge").forEach((edge) => {
      edge.style.display = hidden.has(edge.dataset.from) || hidden.has(edge.dataset.to) ? "none" : "";
    });
    this.svg.querySelectorAll("g.frame, text.frame-label").forEach((frame) => {
      const name = frame.dataset.name, ancestors = this.ancestors.get(name) || [];
      frame.style.display = this.isHidden(ancestors) ? "none" : "";
      frame.classList.toggle("folded", this.collapsed.has(name));
    });
  };

  // -- the diagram: colours, pan and zoom, links to the table ---------------------------------------------------------
  View.prototype.graph = function () {
    const svg = this.section.querySelector(".graph svg");
    this.svg = svg;
    this.ancestors = new Map();  // container → the containers around it
    for (const l of this.data.layers) {
      const groups = l.groups || [];
      groups.forEach((g, k) => { if (!this.ancestors.has(g)) this.ancestors.set(g, groups.slice(0, k)); });
    }
    if (!svg) return;
    const w = Number(svg.getAttribute("width")), h = Number(svg.getAttribute("height"));
    this.full = {w: w, h: h};
    svg.removeAttribute("width");
    svg.removeAttribute("height");
    svg.setAttribute("preserveAspectRatio", "xMidYMin meet");
    this.nodes = new Map();
    svg.querySelectorAll("g.node").forEach((node) => this.nodes.set(node.dataset.name, node));
    svg.addEventListener("click", (ev) => {
      if (this.dragged) return;
      const node = ev.target.closest("g.node"), label = ev.target.closest("text.frame-label");
      if (node) this.select(node.dataset.name, "node");
      else if (label) this.toggle(label.dataset.name);
    });
    this.view([0, 0, w, w * 0.7]);  // until the page is laid out: then fitted to the panel (no forced layout here)
    new ResizeObserver(() => { if (!this.touched) this.fit(); }).observe(svg);
    this.recolour();
    // pan by dragging, zoom with the wheel about the pointer
    let drag = null;
    svg.addEventListener("pointerdown", (ev) => {
      drag = {x: ev.clientX, y: ev.clientY, box: this.box.slice()};
      this.dragged = false;
    });
    window.addEventListener("pointermove", (ev) => {
      if (!drag) return;
      const scale = this.box[2] / svg.clientWidth;
      const dx = (ev.clientX - drag.x) * scale, dy = (ev.clientY - drag.y) * scale;
      if (Math.abs(ev.clientX - drag.x) + Math.abs(ev.clientY - drag.y) < 3) return;  // a click, not a drag
      this.dragged = this.touched = true;
      this.view([drag.box[0] - dx, drag.box[1] - dy, drag.box[2], drag.box[3]]);
    });
    window.addEventListener("pointerup", () => { drag = null; });
    svg.addEventListener("wheel", (ev) => {
      ev.preventDefault();
      this.touched = true;
      const r = svg.getBoundingClientRect();
      const f = Math.exp(ev.deltaY * 0.0015);
      const [x, y, bw, bh] = this.box;
      const px = x + (ev.clientX - r.left) / r.width * bw, py = y + (ev.clientY - r.top) / r.height * bh;
      this.view([px - (px - x) * f, py - (py - y) * f, bw * f, bh * f]);
    }, {passive: false});
    const tools = this.section.querySelector(".graph-tools");
    const zoom = (f) => {
      this.touched = true;
      const [x, y, bw, bh] = this.box;
      this.view([x + bw * (1 - f) / 2, y + bh * (1 - f) / 2, bw * f, bh * f]);
    };
    for (const [label, action] of [["+", () => zoom(0.8)], ["−", () => zoom(1.25)], ["fit width", () => this.fit()],
                                   ["whole", () => this.view([0, 0, w, h])]]) {
      const b = el("button", {type: "button"}, label);
      b.addEventListener("click", action);
      tools.append(b);
    }
  };

  View.prototype.view = function (box) {
    this.box = box;
    this.svg.setAttribute("viewBox", box.map((v) => v.toFixed(1)).join(" "));
  };

  View.prototype.fit = function () {  // the diagram's full width (at most its natural size), from the top
    const cw = this.svg.clientWidth || 600, ch = this.svg.clientHeight || 500;
    const bw = Math.max(this.full.w, cw);
    this.view([(this.full.w - bw) / 2, 0, bw, bw * ch / cw]);
  };

  View.prototype.recolour = function () {
    if (!this.svg) return;
    const key = metric;
    const top = Math.max(1, ...this.data.layers.map((l) => l[key] || 0));
    this.nodes.forEach((node, name) => {
      const layer = this.byName.get(name);
      node.querySelector("rect").style.fill = heat(layer ? (layer[key] || 0) / top : 0);
    });
  };

  View.prototype.select = function (name, from) {
    this.section.querySelectorAll(".selected").forEach((e) => e.classList.remove("selected"));
    const tr = this.layerRows.get(name), node = this.nodes && this.nodes.get(name);
    const layer = this.byName.get(name);
    if (layer && this.isHidden(layer.groups || [])) {  // unfold what hides it
      for (const g of layer.groups) this.collapsed.delete(g);
      this.applyCollapse();
    }
    if (tr) {
      tr.classList.add("selected");
      if (from !== "row") tr.scrollIntoView({block: "center"});
    }
    if (node) {
      node.classList.add("selected");
      if (from !== "node") {  // centre the box in the view
        this.touched = true;
        const r = node.querySelector("rect");
        const x = Number(r.getAttribute("x")) + Number(r.getAttribute("width")) / 2;
        const y = Number(r.getAttribute("y")) + Number(r.getAttribute("height")) / 2;
        const [, , bw, bh] = this.box;
        this.view([x - bw / 2, y - bh / 2, bw, bh]);
      }
    }
  };

  // -- receptive field against depth ----------------------------------------------------------------------------------
  View.prototype.rfPlot = function () {
    const box = this.section.querySelector(".rf");
    const points = [];
    let global = null;
    this.data.layers.forEach((l, i) => {
      const r = rfSize(l.receptive_field);
      if (r !== null) points.push([i + 1, r, l.name]);
      else if (global === null && l.receptive_field && l.receptive_field.global) global = i + 1;
    });
    if (!points.length) { box.textContent = "no spatial receptive field"; return; }
    const W = 420, H = 220, L = 48, B = 28, T = 10, R = 12;
    const n = this.data.layers.length, top = Math.max(...points.map((p) => p[1]));
    const sx = (x) => L + (x - 1) / Math.max(n - 1, 1) * (W - L - R);
    const sy = (y) => H - B - y / top * (H - B - T);
    const svg = document.createElementNS(SVGNS, "svg");
    svg.setAttribute("viewBox", `0 0 ${W} ${H}`);
    svg.setAttribute("class", "rf-plot");
    const add = (tag, attrs, text) => {
      const e = document.createElementNS(SVGNS, tag);
      for (const k in attrs) e.setAttribute(k, attrs[k]);
      if (text !== undefined) e.textContent = text;
      svg.append(e);
      return e;
    };
    add("line", {x1: L, y1: H - B, x2: W - R, y2: H - B, class: "axis"});
    add("line", {x1: L, y1: T, x2: L, y2: H - B, class: "axis"});
    for (let k = 0; k <= 4; k++) {
      const v = Math.round(top * k / 4);
      add("text", {x: L - 4, y: sy(v) + 4, "text-anchor": "end"}, String(v));
      add("text", {x: sx(1 + (n - 1) * k / 4), y: H - B + 14, "text-anchor": "middle"}, String(Math.round(1 + (n - 1) * k / 4)));
    }
    add("text", {x: (L + W) / 2, y: H - 2, "text-anchor": "middle", class: "label"}, "layer (graph order)");
    add("text", {x: 2, y: (T + H - B) / 2, class: "label"}, "px");
    add("polyline", {points: points.map((p) => `${sx(p[0]).toFixed(1)},${sy(p[1]).toFixed(1)}`).join(" "),
                     class: "rf-line"});
    if (global !== null) {
      add("line", {x1: sx(global), y1: T, x2: sx(global), y2: H - B, class: "global"});
      add("text", {x: sx(global) - 4, y: T + 10, "text-anchor": "end", class: "label"}, "global →");
    }
    const input = this.data.input ? Math.max(...this.data.input.slice(1)) : null;
    if (input && input <= top) {
      add("line", {x1: L, y1: sy(input), x2: W - R, y2: sy(input), class: "input-size"});
      add("text", {x: W - R, y: sy(input) - 3, "text-anchor": "end", class: "label"}, `input ${input}`);
    }
    box.append(svg);
  };

  for (const [key, label] of Object.entries(DATA[0].metrics)) select.append(el("option", {value: key}, label));
  select.value = metric;
  const views = [];
  document.querySelectorAll("section.network").forEach((section, k) => views.push(new View(section, DATA[k])));
  select.addEventListener("change", () => {
    metric = select.value;
    views.forEach((v) => { v.recolour(); v.bars(); });
  });
  // for tests and the curious: the views, the data, and how long this script took (ms)
  window.cnncalcReport = {views: views, data: DATA, scriptMs: performance.now() - started};
})();
