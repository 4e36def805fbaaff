// stingray dashboard: polls the runtime's status and timeseries APIs and renders applications,
// deployments, replicas by state, request rate and latency charts, and recent errors. Plain DOM and
// canvas, no libraries, nothing fetched from outside the runtime. Every value from the server goes
// into the page through textContent (app names and error messages are user/client data).
"use strict";

(function () {
  const STATUS_MS = 1000;
  const SERIES_MS = 2000;
  const COLORS = {
    accent: "#2f6fde", bad: "#d64545", warn: "#d08a00", info: "#6b5bd6",
    grid: "#e3e7ee", axis: "#667085", fill: "rgba(47,111,222,0.12)",
  };
  const OK_STATES = ["RUNNING", "HEALTHY", "ALIVE"];
  const WARN_STATES = ["SUSPECT", "DRAINING", "DEPLOYING", "UPDATING", "UPSCALING", "DOWNSCALING", "STARTING", "PENDING", "RECOVERING", "DELETING"];

  let rangeS = 300;
  let lastSeries = null;
  let lastStatusOk = 0;

  // ---- tiny DOM helpers ------------------------------------------------------------------------
  function el(tag, attrs, children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === undefined || v === null) continue;
      if (k === "class") node.className = v;
      else if (k === "text") node.textContent = String(v);
      else node.setAttribute(k, String(v));
    }
    for (const c of children || []) if (c) node.appendChild(typeof c === "string" ? document.createTextNode(c) : c);
    return node;
  }
  function setText(id, text) {
    const n = document.getElementById(id);
    if (n) n.textContent = text;
  }
  function badgeClass(status) {
    const s = String(status || "").toUpperCase();
    if (OK_STATES.includes(s)) return "badge s-ok";
    if (WARN_STATES.includes(s)) return "badge s-warn";
    if (s) return "badge s-bad";
    return "badge";
  }
  function fmtNum(v) {
    return v >= 100 ? String(Math.round(v)) : v.toFixed(1);
  }
  function fmtDuration(ms) {
    const s = Math.max(0, Math.floor(ms / 1000));
    if (s < 60) return s + "s";
    if (s < 3600) return Math.floor(s / 60) + "m " + (s % 60) + "s";
    return Math.floor(s / 3600) + "h " + Math.floor((s % 3600) / 60) + "m";
  }
  function fmtResources(r) {
    if (!r) return "";
    return Object.entries(r).map(([k, v]) => k + " " + (Math.round(v * 100) / 100)).join(", ");
  }

  // ---- status ----------------------------------------------------------------------------------
  function renderStatus(snap) {
    const rt = snap.runtime || {};
    setText("address", rt.address || location.origin);
    if (rt.startedAt) setText("uptime", fmtDuration(Date.now() - rt.startedAt));
    if (rt.resources) {
      const parts = Object.keys(rt.resources.total || {}).map((k) => {
        const total = rt.resources.total[k];
        const free = (rt.resources.available || {})[k];
        return k + " " + round2(total - (free ?? total)) + " / " + round2(total) + " used";
      });
      setText("resources", parts.join(" · "));
    }
    const apps = snap.applications || [];
    let deployments = 0, running = 0, total = 0;
    for (const app of apps) {
      for (const d of app.deployments || []) {
        deployments++;
        for (const [state, n] of Object.entries(d.replicaStates || {})) {
          total += n;
          if (state === "RUNNING") running += n;
        }
      }
    }
    setText("card-apps", String(apps.length));
    setText("card-deployments", String(deployments));
    setText("card-replicas", running + " / " + total);

    renderNodes(snap);
    const root = document.getElementById("apps");
    root.replaceChildren();
    if (apps.length === 0) root.appendChild(el("p", { class: "empty", text: "No applications yet." }));
    for (const app of apps) root.appendChild(renderApp(app));
  }

  // Cluster mode: every node of the cluster, as this node hears their heartbeats.
  function renderNodes(snap) {
    const panel = document.getElementById("nodes-panel");
    const nodes = snap.nodes || [];
    panel.hidden = nodes.length === 0;
    if (nodes.length === 0) return;
    const c = snap.cluster || {};
    setText("cluster", "cluster " + (c.name || "?") + " · this node " + (c.nodeId || "?") + " · leader " + (c.leader || "none"));
    document.getElementById("nodes").replaceChildren(...nodes.map((n) => {
      const res = n.resources || { total: {}, available: {} };
      const used = Object.keys(res.total || {}).map((k) => k + " " + round2(res.total[k] - ((res.available || {})[k] ?? res.total[k])) + " / " + round2(res.total[k])).join(", ");
      return el("tr", { "data-testid": "node", "data-node": n.id }, [
        el("td", { class: "mono", text: n.id }),
        el("td", {}, [el("span", { class: badgeClass(n.state), "data-testid": "node-state", text: n.state })]),
        el("td", { text: n.leader ? "leader" : "" }),
        el("td", { class: "mono", text: n.address || "—" }),
        el("td", { class: "mono", text: used || "—" }),
        el("td", { text: n.lastSeenMsAgo === undefined ? "—" : (n.lastSeenMsAgo / 1000).toFixed(1) + " s ago" }),
      ]);
    }));
  }

  function round2(v) {
    return Math.round(v * 100) / 100;
  }

  function renderApp(app) {
    const head = el("div", { class: "app-head" }, [
      el("span", { class: "app-name", "data-testid": "app-name", text: app.name }),
      el("span", { class: "route", text: app.routePrefix }),
      el("span", { class: badgeClass(app.status), "data-testid": "app-status", text: app.status }),
      app.message ? el("span", { class: "app-msg", text: app.message }) : null,
    ]);
    const rows = (app.deployments || []).map(renderDeployment);
    const table = el("table", { class: "grid" }, [
      el("thead", {}, [el("tr", {}, ["Deployment", "Status", "Replicas (running / target)", "By state", "Queued", "Restarts", "Per replica"].map((h) => el("th", { text: h })))]),
      el("tbody", {}, rows),
    ]);
    return el("div", { class: "app", "data-testid": "app", "data-app": app.name }, [head, table]);
  }

  function renderDeployment(d) {
    const states = d.replicaStates || {};
    const running = states.RUNNING || 0;
    const chips = el("div", { class: "states" },
      Object.entries(states).filter(([, n]) => n > 0).map(([s, n]) => el("span", { class: badgeClass(s), "data-state": s, text: s + " " + n })));
    const squares = el("div", { class: "replicas" },
      (d.replicas || []).map((r) => el("span", {
        class: "replica st-" + String(r.state).replace(/[^A-Z_]/g, ""),
        title: r.id + (r.node ? " on " + r.node : "") + " · " + r.state + (r.ongoing !== undefined ? " · " + r.ongoing + " in flight" : "") + (r.message ? " · " + r.message : ""),
      })));
    const status = el("td", {}, [el("span", { class: badgeClass(d.status), text: d.status })]);
    if (d.message) status.appendChild(el("div", { class: "app-msg", text: d.message }));
    return el("tr", { "data-testid": "deployment", "data-deployment": d.name }, [
      el("td", { class: "mono", text: d.name }),
      status,
      el("td", {}, [el("span", {
        class: running === d.targetReplicas ? "target-ok" : "target-off",
        "data-testid": "replica-count", text: running + " / " + d.targetReplicas,
      })]),
      el("td", {}, [chips, squares]),
      el("td", { text: String(d.queued ?? 0) }),
      el("td", { text: String(d.restarts ?? 0) }),
      el("td", { class: "mono", text: fmtResources(d.resourcesPerReplica) }),
    ]);
  }

  // ---- timeseries --------------------------------------------------------------------------------
  function renderSeries(data) {
    lastSeries = data;
    const lm = data.lastMinute || {};
    setText("card-rate", (lm.ratePerS ?? 0).toFixed(2));
    setText("card-latency", lm.p50Ms == null ? "—" : fmtNum(lm.p50Ms) + " / " + fmtNum(lm.p95Ms) + " ms");
    setText("card-errors", String(lm.errors ?? 0));
    drawCharts();
    renderErrors(data.recentErrors || []);
  }

  function drawCharts() {
    if (!lastSeries) return;
    const bucketS = lastSeries.bucketS || 5;
    const n = Math.max(2, Math.round(rangeS / bucketS));
    const pts = (lastSeries.total || []).slice(-n);
    const rate = pts.map((p) => ({ t: p.t, v: p.requests / bucketS }));
    const errs = pts.map((p) => ({ t: p.t, v: p.errors / bucketS }));
    drawChart(document.getElementById("chart-rate"), pts, [
      { points: rate, color: COLORS.accent, fill: true },
      { points: errs, color: COLORS.bad },
    ], (v) => v.toFixed(v < 10 ? 1 : 0));
    drawChart(document.getElementById("chart-latency"), pts, [
      { points: pts.map((p) => ({ t: p.t, v: p.p50Ms })), color: COLORS.accent },
      { points: pts.map((p) => ({ t: p.t, v: p.p95Ms })), color: COLORS.warn },
      { points: pts.map((p) => ({ t: p.t, v: p.p99Ms })), color: COLORS.info },
    ], (v) => (v < 10 ? v.toFixed(1) : Math.round(v)) + "");
  }

  /** Line chart on a canvas sized for the device pixel ratio; null values leave gaps. */
  function drawChart(canvas, pts, lines, fmt) {
    const dpr = window.devicePixelRatio || 1;
    const w = canvas.clientWidth, h = canvas.clientHeight;
    canvas.width = Math.round(w * dpr);
    canvas.height = Math.round(h * dpr);
    const ctx = canvas.getContext("2d");
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, w, h);
    const pad = { l: 44, r: 10, t: 10, b: 22 };
    const pw = w - pad.l - pad.r, ph = h - pad.t - pad.b;
    let max = 0, drawn = 0;
    for (const line of lines) for (const p of line.points) if (p.v !== null && p.v !== undefined) max = Math.max(max, p.v);
    max = niceMax(max);
    ctx.font = "11px system-ui, sans-serif";
    ctx.fillStyle = COLORS.axis;
    ctx.strokeStyle = COLORS.grid;
    ctx.lineWidth = 1;
    for (let i = 0; i <= 4; i++) {
      const y = pad.t + ph - (ph * i) / 4;
      ctx.beginPath(); ctx.moveTo(pad.l, y + 0.5); ctx.lineTo(pad.l + pw, y + 0.5); ctx.stroke();
      ctx.textAlign = "right"; ctx.textBaseline = "middle";
      ctx.fillText(fmt((max * i) / 4), pad.l - 6, y);
    }
    if (pts.length > 1) {
      const t0 = pts[0].t, t1 = pts[pts.length - 1].t;
      ctx.textAlign = "center"; ctx.textBaseline = "top";
      for (let i = 0; i <= 4; i++) {
        const t = t0 + ((t1 - t0) * i) / 4;
        const ago = Math.round((t1 - t) / 1000);
        ctx.fillText(ago === 0 ? "now" : "-" + fmtDuration(ago * 1000), pad.l + (pw * i) / 4, pad.t + ph + 5);
      }
      const x = (i) => pad.l + (pw * i) / (pts.length - 1);
      const y = (v) => pad.t + ph - (ph * v) / max;
      for (const line of lines) {
        ctx.strokeStyle = line.color; ctx.lineWidth = 2; ctx.lineJoin = "round";
        ctx.beginPath();
        let open = false;
        const has = (i) => i >= 0 && i < line.points.length && line.points[i].v !== null && line.points[i].v !== undefined;
        line.points.forEach((p, i) => {
          if (!has(i)) { open = false; return; }
          if (p.v > 0) drawn++;
          if (!open) { ctx.moveTo(x(i), y(p.v)); open = true; } else ctx.lineTo(x(i), y(p.v));
        });
        ctx.stroke();
        // A point with no neighbours draws no line segment: mark it with a dot so it is seen.
        ctx.fillStyle = line.color;
        line.points.forEach((p, i) => {
          if (has(i) && !has(i - 1) && !has(i + 1) && p.v > 0) {
            ctx.beginPath(); ctx.arc(x(i), y(p.v), 3, 0, Math.PI * 2); ctx.fill();
          }
        });
        if (line.fill) {
          ctx.fillStyle = COLORS.fill;
          ctx.beginPath(); ctx.moveTo(x(0), y(0));
          line.points.forEach((p, i) => ctx.lineTo(x(i), y(p.v || 0)));
          ctx.lineTo(x(line.points.length - 1), y(0)); ctx.closePath(); ctx.fill();
        }
      }
    }
    // Lets tests (and curious humans) see how much data the chart holds without reading pixels.
    canvas.setAttribute("data-points", String(drawn));
  }

  function niceMax(v) {
    if (!(v > 0)) return 1;
    const mag = Math.pow(10, Math.floor(Math.log10(v)));
    // Multiples that split into four readable ticks (0.25, 0.5, 1, 1.5, 2, 2.5 of the magnitude).
    for (const m of [1, 2, 4, 6, 8, 10]) if (v <= m * mag) return m * mag;
    return 10 * mag;
  }

  function renderErrors(errors) {
    const body = document.getElementById("errors");
    body.replaceChildren();
    if (errors.length === 0) {
      body.appendChild(el("tr", { class: "empty-row" }, [el("td", { colspan: 6, text: "No errors." })]));
      return;
    }
    for (const e of errors.slice(0, 20)) {
      body.appendChild(el("tr", { "data-testid": "error-row" }, [
        el("td", { text: new Date(e.time).toLocaleTimeString() }),
        el("td", { text: e.app }),
        el("td", {}, [el("span", { class: "badge s-bad", text: e.status })]),
        el("td", { class: "mono", text: [e.mcpMethod, e.tool].filter(Boolean).join(" · ") || e.route }),
        el("td", { class: "mono", text: e.requestId || "" }),
        el("td", { text: e.message }),
      ]));
    }
  }

  // ---- polling -----------------------------------------------------------------------------------
  async function getJson(path) {
    const res = await fetch(path, { cache: "no-store", headers: { accept: "application/json" } });
    if (!res.ok) throw new Error(path + ": HTTP " + res.status);
    return res.json();
  }

  function setConn(ok) {
    const c = document.getElementById("conn");
    c.className = "conn " + (ok ? "conn-ok" : "conn-bad");
    c.textContent = ok ? "live" : "disconnected";
  }

  async function pollStatus() {
    try {
      renderStatus(await getJson("/-/api/status"));
      lastStatusOk = Date.now();
      setConn(true);
    } catch {
      setConn(false);
    } finally {
      setTimeout(pollStatus, STATUS_MS);
    }
  }

  async function pollSeries() {
    try {
      renderSeries(await getJson("/-/api/timeseries"));
    } catch {
      if (Date.now() - lastStatusOk > 3 * STATUS_MS) setConn(false);
    } finally {
      setTimeout(pollSeries, SERIES_MS);
    }
  }

  document.querySelectorAll(".range button").forEach((b) => {
    b.addEventListener("click", () => {
      rangeS = Number(b.getAttribute("data-range"));
      document.querySelectorAll(".range button").forEach((o) => o.classList.toggle("active", o === b));
      drawCharts();
    });
  });
  window.addEventListener("resize", drawCharts);
  pollStatus();
  pollSeries();
})();
