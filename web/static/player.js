// The video player: hls.js (adaptive, switching renditions) where Media Source Extensions
// exist, the plain MP4 otherwise. A quality menu and keyboard controls on top of the browser's
// own controls.
(() => {
  function setUp(player) {
    const video = player.querySelector("video");
    const select = player.querySelector("select.quality");
    const source = player.dataset.hls;
    if (!video) return;
    const beacon = (what) => {
      if (player.dataset.media) navigator.sendBeacon?.(`/media/${encodeURIComponent(player.dataset.media)}/${what}`);
    };
    // A view is ten seconds actually watched, once per page: plays rank videos for mirroring.
    let watched = 0, last = null, counted = false;
    video.addEventListener("timeupdate", () => {
      const now = video.currentTime;
      if (last !== null && !video.seeking && now > last && now - last < 1.5) watched += now - last;
      last = now;
      if (!counted && watched >= 10) { counted = true; beacon("views"); }
    });
    video.addEventListener("seeking", () => { last = null; });

    player.addEventListener("keydown", (event) => {
      if (event.target === select) return;
      const keys = {
        " ": () => (video.paused ? video.play() : video.pause()),
        k: () => (video.paused ? video.play() : video.pause()),
        ArrowLeft: () => { video.currentTime = Math.max(0, video.currentTime - 5); },
        ArrowRight: () => { video.currentTime = Math.min(video.duration || Infinity, video.currentTime + 5); },
        m: () => { video.muted = !video.muted; },
        f: () => (document.fullscreenElement ? document.exitFullscreen() : player.requestFullscreen?.()),
      };
      const action = keys[event.key];
      if (action) { action(); event.preventDefault(); }
    });

    if (!source || !window.Hls || !window.Hls.isSupported()) return; // the MP4 plays as is
    const hls = new window.Hls({
      // Twelve to twenty seconds ahead: enough to ride out a copy going away, without fetching
      // a whole film for a viewer who leaves after a minute (hls.js would otherwise buffer up
      // to its maximum on low bitrates).
      maxBufferLength: 12,
      maxMaxBufferLength: 20,
      // Quick retries, so a dead copy is left for the next one without a long stall.
      fragLoadPolicy: { default: { maxTimeToFirstByteMs: 8000, maxLoadTimeMs: 20000,
        timeoutRetry: { maxNumRetry: 2, retryDelayMs: 0, maxRetryDelayMs: 0 },
        errorRetry: { maxNumRetry: 2, retryDelayMs: 200, maxRetryDelayMs: 1000 } } },
    });
    player.hls = hls; // for tests and curious people in the console
    const mp4 = video.currentSrc || video.getAttribute("src");
    video.removeAttribute("src");
    video.load();
    hls.on(window.Hls.Events.ERROR, (_, data) => {
      if (data.fatal) {
        // Give up on adaptive streaming rather than leave a dead player.
        hls.destroy();
        if (mp4) { video.src = mp4; video.load(); }
      }
    });
    // Each copy lives on its own server; hls.js leaves one only when it fails, so fragments
    // coming from another server than the last are a failover worth counting.
    let server = null;
    hls.on(window.Hls.Events.FRAG_LOADED, (_, data) => {
      let now = null;
      try { now = new URL(data.frag.url, location.href).origin; } catch { return; }
      if (server !== null && now !== server) beacon("failovers");
      server = now;
    });
    hls.on(window.Hls.Events.MANIFEST_PARSED, (_, data) => {
      if (!select) return;
      select.innerHTML = "";
      const auto = new Option("Auto", "-1");
      select.add(auto);
      data.levels
        .map((level, index) => ({ level, index }))
        .sort((a, b) => b.level.height - a.level.height)
        .forEach(({ level, index }) => select.add(new Option(`${level.height}p`, String(index))));
      select.hidden = false;
      select.closest("label").hidden = false;
    });
    select?.addEventListener("change", () => { hls.currentLevel = Number(select.value); });
    hls.loadSource(source);
    hls.attachMedia(video);
  }
  document.addEventListener("DOMContentLoaded", () => document.querySelectorAll("[data-player]").forEach(setUp));
})();
