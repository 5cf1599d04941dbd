// The upload page: several photos, alt text for each, a real progress bar per upload, then
// processing, then the post. Nothing is posted unless every photo made it.
(() => {
  const form = document.getElementById("upload");
  if (!form) return;
  const csrf = document.querySelector('meta[name="csrf-token"]')?.content || "";
  const input = document.getElementById("files");
  const list = document.getElementById("items");
  const template = document.getElementById("item-template");
  const errorBox = document.getElementById("form-error");
  const button = document.getElementById("post");
  const maxAlbum = Number(form.dataset.maxAlbum || 10);
  const items = [];

  const showError = (text) => { errorBox.textContent = text; errorBox.hidden = !text; };

  function add(files) {
    for (const file of files) {
      if (items.length >= maxAlbum) { showError(`A post has at most ${maxAlbum} photos.`); break; }
      const node = template.content.firstElementChild.cloneNode(true);
      const isVideo = file.type.startsWith("video/");
      const preview = node.querySelector(isVideo ? "video.thumb" : "img.thumb");
      node.querySelector(isVideo ? "img.thumb" : "video.thumb").remove();
      preview.hidden = false;
      preview.src = URL.createObjectURL(file);
      node.querySelector(".name").textContent = file.name;
      const item = { file, node, media: null };
      node.querySelector(".remove").addEventListener("click", () => {
        items.splice(items.indexOf(item), 1);
        node.remove();
      });
      items.push(item);
      list.append(node);
    }
  }

  input.addEventListener("change", () => { add(input.files); input.value = ""; });
  const drop = form.querySelector(".drop");
  drop.addEventListener("dragover", (event) => { event.preventDefault(); drop.classList.add("over"); });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", (event) => {
    event.preventDefault();
    drop.classList.remove("over");
    add(event.dataTransfer.files);
  });

  const setState = (item, text, failed) => {
    const state = item.node.querySelector(".state");
    state.textContent = text;
    item.node.classList.toggle("failed", Boolean(failed));
  };

  function send(item) {
    return new Promise((resolve, reject) => {
      const body = new FormData();
      body.append("file", item.file);
      body.append("description", item.node.querySelector(".alt").value);
      const request = new XMLHttpRequest();
      const bar = item.node.querySelector("progress");
      request.open("POST", "/api/v2/media");
      request.setRequestHeader("X-CSRF-Token", csrf);
      request.responseType = "json";
      request.upload.addEventListener("progress", (event) => {
        if (event.lengthComputable) bar.value = Math.round((event.loaded / event.total) * 100);
      });
      request.addEventListener("load", () => {
        const answer = request.response || {};
        if (request.status === 200 || request.status === 202) { bar.value = 100; resolve(answer); }
        else reject(new Error(`${item.file.name}: ${answer.error_description || `upload failed (${request.status})`}`));
      });
      request.addEventListener("error", () => reject(new Error(`${item.file.name}: the connection was lost`)));
      request.send(body);
    });
  }

  async function processed(item) {
    for (;;) {
      const response = await fetch(`/api/v1/media/${item.media.id}`, { credentials: "same-origin" });
      const media = await response.json();
      if (response.status === 200) return media;
      if (response.status === 206) {
        // Uploaded; now the server's own progress (transcoding for a video).
        const done = media.kaleido?.progress ?? 0;
        item.node.querySelector("progress").value = done;
        setState(item, `${media.type === "video" ? "Transcoding" : "Processing"}… ${done}%`);
      }
      if (response.status === 422) throw new Error(`${item.file.name}: ${media.kaleido?.error || "it could not be processed"}`);
      if (!response.ok && response.status !== 206) throw new Error(`${item.file.name}: ${media.error_description || response.status}`);
      await new Promise((done) => setTimeout(done, 400));
    }
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    showError("");
    const caption = document.getElementById("caption").value;
    if (!items.length && !caption.trim()) { showError("Add a photo or write something first."); return; }
    const videos = items.filter((item) => item.file.type.startsWith("video/")).length;
    if (videos > 1 || (videos === 1 && items.length > 1)) {
      showError("A post has one video, or photos, not both.");
      return;
    }
    button.disabled = true;
    try {
      for (const item of items) {
        if (item.media) continue;
        setState(item, "Uploading…");
        try { item.media = await send(item); }
        catch (error) { setState(item, error.message, true); throw error; }
        setState(item, "Processing…");
      }
      for (const item of items) {
        try { await processed(item); setState(item, "Ready"); }
        catch (error) { item.media = null; setState(item, error.message, true); throw error; }
      }
      const response = await fetch("/api/v1/statuses", {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
        body: JSON.stringify({
          status: caption,
          media_ids: items.map((item) => item.media.id),
          spoiler_text: document.getElementById("spoiler").value,
          sensitive: document.getElementById("sensitive").checked,
          visibility: document.getElementById("visibility").value,
        }),
      });
      const status = await response.json();
      if (!response.ok) throw new Error(status.error_description || `posting failed (${response.status})`);
      window.location.assign(status.url);
    } catch (error) {
      showError(error.message);
      button.disabled = false;
    }
  });
})();
