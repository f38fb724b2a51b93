// The live dashboard: reads the daemon's stream of the machine (server-sent events) with
// fetch(), so the API token travels in a header and never in a URL, and draws it.
// Everything put on the page from the stream goes in as text (process names, agent titles
// and errors are anyone's words), never as HTML.
"use strict";

(() => {
  const EVENTS = "/ainos/view/events";
  const TOKEN_KEY = "ainos-api-token";
  const WINDOW_S = 60;
  const tokenRequired = document.documentElement.dataset.tokenRequired === "true";
  const charts = new Map(); // "cpu", "gpu0", … -> {box, heading, data, plot}
  const titles = new Map();
  let retryMs = 3000;
  let updates = 0;
  let stopped = false;

  const byId = (id) => document.getElementById(id);

  function setStatus(state, text) {
    const status = byId("status");
    status.dataset.state = state;
    status.textContent = text;
  }

  // -- the connection ---------------------------------------------------------------

  function token() {
    return sessionStorage.getItem(TOKEN_KEY);
  }

  function askForToken(message) {
    setStatus("error", "an API token is needed");
    byId("login").hidden = false;
    byId("login-error").textContent = message;
    byId("token").focus();
  }

  byId("login").addEventListener("submit", (event) => {
    event.preventDefault();
    const value = byId("token").value.trim();
    if (!value) return;
    sessionStorage.setItem(TOKEN_KEY, value);
    byId("token").value = "";
    byId("login").hidden = true;
    connect();
  });

  function later(why, state) {
    setStatus(state, `${why}; connecting again…`);
    setTimeout(connect, retryMs);
  }

  async function connect() {
    if (tokenRequired && !token()) {
      askForToken("");
      return;
    }
    stopped = false;
    setStatus("connecting", "connecting…");
    const headers = { Accept: "text/event-stream" };
    if (token()) headers.Authorization = `Bearer ${token()}`;
    let response;
    try {
      response = await fetch(EVENTS, { headers, cache: "no-store", credentials: "omit" });
    } catch (error) {
      later("the daemon cannot be reached", "error");
      return;
    }
    if (response.status === 401) {
      sessionStorage.removeItem(TOKEN_KEY);
      askForToken("the daemon refused that token");
      return;
    }
    if (!response.ok) {
      let message = `HTTP ${response.status}`;
      try {
        message = (await response.json()).error.message;
      } catch (error) {
        // not an API error object: the status says it
      }
      later(message, "error");
      return;
    }
    setStatus("live", "live");
    try {
      await readEvents(response.body);
    } catch (error) {
      // the connection broke: connect again below
    }
    if (stopped) later("the daemon stopped", "stopped");
    else later("disconnected", "error");
  }

  async function readEvents(body) {
    const reader = body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buffer += value.replace(/\r\n?/g, "\n");
      let end;
      while ((end = buffer.indexOf("\n\n")) >= 0) {
        dispatch(buffer.slice(0, end));
        buffer = buffer.slice(end + 2);
      }
    }
  }

  function dispatch(block) {
    let name = "message";
    const data = [];
    for (const line of block.split("\n")) {
      if (!line || line.startsWith(":")) continue; // a keep-alive comment
      const colon = line.indexOf(":");
      const field = colon < 0 ? line : line.slice(0, colon);
      let value = colon < 0 ? "" : line.slice(colon + 1);
      if (value.startsWith(" ")) value = value.slice(1);
      if (field === "event") name = value;
      else if (field === "data") data.push(value);
      else if (field === "retry" && /^\d+$/.test(value)) retryMs = Number(value);
    }
    const handle = handlers[name];
    if (data.length && handle) handle(JSON.parse(data.join("\n")));
  }

  const handlers = {
    hello(document_) {
      for (const chart of charts.values()) chart.data.forEach((series) => (series.length = 0));
      if (document_.view) showView(document_.view);
      addPoints(document_.history);
    },
    devices(document_) {
      addPoints(document_.points);
    },
    view(view) {
      showView(view);
    },
    error(document_) {
      byId("summary").textContent = document_.error.message;
    },
    end() {
      stopped = true;
    },
  };

  // -- charts -----------------------------------------------------------------------

  function chartWidth(box) {
    return Math.max(260, box.clientWidth || 400);
  }

  function chartFor(key) {
    const title = titles.get(key) || key;
    let chart = charts.get(key);
    if (chart) {
      chart.heading.textContent = title;
      return chart;
    }
    const box = document.createElement("div");
    box.className = "chart";
    box.dataset.device = key;
    box.dataset.points = "0";
    const heading = document.createElement("h3");
    heading.textContent = title;
    box.append(heading);
    byId("charts").append(box);
    const ink = getComputedStyle(document.body).color;
    const grid = { stroke: "rgba(128,128,128,.2)" };
    const data = [[], [], []];
    const plot = new uPlot(
      {
        width: chartWidth(box),
        height: 170,
        // Always the last minute, so a chart that just started does not zoom into seconds.
        scales: { x: { time: true, range: (_, __, max) => [max - WINDOW_S, max] }, y: { range: [0, 100] } },
        series: [
          {},
          { label: "utilisation %", stroke: "#1f6feb", width: 1.5, fill: "rgba(31,111,235,.12)" },
          { label: "memory %", stroke: "#bf3989", width: 1.5 },
        ],
        axes: [
          { stroke: ink, grid },
          { stroke: ink, grid, values: (_, ticks) => ticks.map((tick) => `${tick}%`) },
        ],
      },
      data,
      box,
    );
    chart = { box, heading, data, plot };
    charts.set(key, chart);
    return chart;
  }

  function push(key, time, pair) {
    const data = chartFor(key).data;
    data[0].push(time);
    data[1].push(pair[0]);
    data[2].push(pair[1]);
  }

  function addPoints(points) {
    if (!points.length) return;
    for (const point of points) {
      push("cpu", point.t, point.cpu);
      point.gpus.forEach((pair, index) => push(`gpu${index}`, point.t, pair));
    }
    const newest = points[points.length - 1].t;
    for (const chart of charts.values()) {
      const [times] = chart.data;
      let old = 0;
      while (old < times.length && times[old] < newest - WINDOW_S) old += 1;
      if (old) chart.data.forEach((series) => series.splice(0, old));
      chart.plot.setData(chart.data);
      chart.box.dataset.points = String(times.length);
      chart.box.dataset.newest = String(newest);
    }
    updates += 1;
    document.body.dataset.updates = String(updates);
  }

  window.addEventListener("resize", () => {
    for (const chart of charts.values()) {
      chart.plot.setSize({ width: chartWidth(chart.box), height: 170 });
    }
  });

  // -- tables -----------------------------------------------------------------------

  const dash = "–";

  function bytes(value) {
    if (value === null || value === undefined) return dash;
    const units = ["B", "KiB", "MiB", "GiB", "TiB"];
    let size = value;
    let unit = 0;
    while (size >= 1024 && unit < units.length - 1) {
      size /= 1024;
      unit += 1;
    }
    return `${size.toFixed(unit ? 1 : 0)} ${units[unit]}`;
  }

  function ms(value) {
    return value === null || value === undefined ? dash : `${value.toFixed(1)} ms`;
  }

  function clock(seconds) {
    return new Date(seconds * 1000).toLocaleTimeString();
  }

  function duration(seconds) {
    const s = Math.floor(seconds);
    const [h, m] = [Math.floor(s / 3600), Math.floor((s % 3600) / 60)];
    return h ? `${h}h ${m}m` : m ? `${m}m ${s % 60}s` : `${s}s`;
  }

  // Each row is a list of cells; a cell is a value, or {text} for free text that may wrap.
  function fillTable(id, columns, rows, empty) {
    const head = document.createElement("tr");
    for (const column of columns) {
      const th = document.createElement("th");
      th.textContent = column;
      head.append(th);
    }
    const lines = [head];
    if (!rows.length) {
      const td = document.createElement("td");
      td.colSpan = columns.length;
      td.className = "empty";
      td.textContent = empty;
      const tr = document.createElement("tr");
      tr.append(td);
      lines.push(tr);
    }
    for (const row of rows) {
      const tr = document.createElement("tr");
      for (const cell of row) {
        const td = document.createElement("td");
        const free = cell !== null && typeof cell === "object";
        if (free) td.className = "text";
        const value = free ? cell.text : cell;
        td.textContent = value === null || value === undefined || value === "" ? dash : value;
        tr.append(td);
      }
      lines.push(tr);
    }
    byId(id).replaceChildren(...lines);
  }

  function percentiles(summary) {
    return [summary.p50_ms, summary.p95_ms, summary.p99_ms].map(ms).join(" / ");
  }

  function histogram(sizes) {
    const entries = Object.entries(sizes).sort((a, b) => Number(a[0]) - Number(b[0]));
    return entries.map(([rows, batches]) => `${rows}×${batches}`).join("  ");
  }

  function showScheduler(scheduler) {
    if (!scheduler) {
      byId("scheduler-summary").textContent = "";
      fillTable("scheduler", ["class"], [], "no scheduler");
      return;
    }
    byId("scheduler-summary").textContent =
      `${scheduler.discipline} · ${scheduler.queued} queued · ${scheduler.running} running · ` +
      `${scheduler.preemptions_total} preemptions`;
    const rows = Object.entries(scheduler.classes).map(([name, q]) => [
      name,
      q.queue_depth,
      q.running,
      q.completed_total,
      percentiles(q.wait),
      percentiles(q.latency),
      q.deadline_misses_total,
      q.rejected_total,
      histogram(q.batch_sizes),
    ]);
    fillTable(
      "scheduler",
      ["class", "queued", "running", "done", "wait p50 / p95 / p99", "latency p50 / p95 / p99",
        "deadline misses", "refused", "batch sizes (rows×batches)"],
      rows,
      "no job has been scheduled yet",
    );
  }

  function showPool(pool) {
    const box = byId("pool");
    if (!pool) {
      box.textContent = "no pinned pool";
      return;
    }
    const meter = document.createElement("meter");
    meter.min = 0;
    meter.max = pool.total_bytes;
    meter.high = pool.total_bytes * 0.9;
    meter.optimum = 0;
    meter.value = pool.used_bytes;
    meter.title = `${bytes(pool.used_bytes)} of ${bytes(pool.total_bytes)}`;
    const facts = [
      ["used", `${bytes(pool.used_bytes)} of ${bytes(pool.total_bytes)}`],
      ["blocks", `${pool.block_count}, held by ${pool.owner_count} clients`],
      ["largest free block", bytes(pool.largest_free_block_bytes)],
      ["fragmentation", `${(pool.fragmentation_ratio * 100).toFixed(1)} %`],
      ["refused allocations", pool.failed_allocations],
      ["page-locked", pool.locked ? "yes" : `no (${pool.lock_reason || "unknown"})`],
      ["CUDA pinned", pool.cuda_registered ? `yes (${pool.cuda_backend})` : `no (${pool.cuda_reason || "unknown"})`],
    ];
    const list = document.createElement("dl");
    for (const [term, value] of facts) {
      const dt = document.createElement("dt");
      dt.textContent = term;
      const dd = document.createElement("dd");
      dd.textContent = String(value);
      list.append(dt, dd);
    }
    box.replaceChildren(meter, list);
  }

  function showView(view) {
    const stats = view.stats;
    byId("summary").textContent =
      `up ${duration(stats.uptime_seconds)} · ${stats.ai_processes} AI processes · ` +
      `${stats.clients} control clients · ${stats.registered_runtimes} registered runtimes`;
    const cpu = stats.devices.cpu;
    titles.set("cpu", `CPU · ${cpu.per_core_percent.length} cores · ${bytes(cpu.memory_total_bytes)}`);
    stats.devices.gpus.forEach((gpu, index) => {
      const memory = gpu.memory_total_bytes ? ` · ${bytes(gpu.memory_total_bytes)}` : "";
      titles.set(`gpu${index}`, `GPU ${gpu.index} · ${gpu.name}${memory}`);
    });
    for (const key of titles.keys()) chartFor(key);
    showScheduler(stats.scheduler);
    showPool(stats.memory_pool);
    fillTable(
      "models",
      ["model", "kind", "serving", "waiting", "held by", "engine"],
      view.models.map((m) => [m.alias, m.kind, m.in_flight, m.waiting, { text: m.held_by.join(", ") }, { text: m.engine }]),
      "no model is loaded",
    );
    fillTable(
      "processes",
      ["pid", "name", "user", "runtimes", "CPU %", "memory", "GPU memory", "command"],
      view.processes.map((p) => [
        p.pid, p.name, p.user, p.runtimes.join(", "),
        p.cpu_percent === null ? null : p.cpu_percent.toFixed(1),
        bytes(p.rss_bytes), bytes(p.gpu_memory_bytes), { text: p.command },
      ]),
      "no AI process",
    );
    fillTable(
      "actions",
      ["started", "action", "result", "took", "invoker", "error"],
      view.actions.map((a) => [clock(a.started_at), a.action_id, a.result, ms(a.duration_ms), a.invoker, { text: a.error }]),
      "no action has been invoked",
    );
    fillTable(
      "agents",
      ["updated", "title", "model", "state", "turns", "owner pid"],
      view.agents.map((a) => [clock(a.updated_at), { text: a.title }, a.model, a.state, a.turns, a.owner_pid]),
      "no agent conversation",
    );
    document.body.dataset.viewAt = String(view.at);
  }

  connect();
})();
