// Arrow buttons and keys for albums; swiping is native (scroll snapping), so the album also
// works without this script.
(() => {
  function setUp(album) {
    const slides = album.querySelector(".slides");
    const prev = album.querySelector(".prev");
    const next = album.querySelector(".next");
    if (!slides || !prev || !next) return;
    const step = (direction) => slides.scrollBy({ left: direction * slides.clientWidth, behavior: "smooth" });
    const update = () => {
      prev.hidden = slides.scrollLeft <= 4;
      next.hidden = slides.scrollLeft + slides.clientWidth >= slides.scrollWidth - 4;
    };
    prev.addEventListener("click", () => step(-1));
    next.addEventListener("click", () => step(1));
    album.addEventListener("keydown", (event) => {
      if (event.key === "ArrowLeft") { step(-1); event.preventDefault(); }
      if (event.key === "ArrowRight") { step(1); event.preventDefault(); }
    });
    slides.addEventListener("scroll", update, { passive: true });
    update();
  }
  document.addEventListener("DOMContentLoaded", () => document.querySelectorAll("[data-album]").forEach(setUp));
})();
