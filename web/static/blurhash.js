// Paints each [data-blurhash] element's background with its decoded blurhash, so photos have a
// soft placeholder of their own colours while they load. Written from the blurhash spec.
(() => {
  const CHARS = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz#$%*+,-.:;=?@[]^_{|}~";
  const decode83 = (s) => [...s].reduce((value, c) => value * 83 + CHARS.indexOf(c), 0);
  const toLinear = (v) => {
    const x = v / 255;
    return x <= 0.04045 ? x / 12.92 : Math.pow((x + 0.055) / 1.055, 2.4);
  };
  const toSrgb = (v) => {
    const x = Math.max(0, Math.min(1, v));
    return Math.round(x <= 0.0031308 ? x * 12.92 * 255 : (1.055 * Math.pow(x, 1 / 2.4) - 0.055) * 255);
  };
  const signedSquare = (v) => Math.sign(v) * v * v;

  function pixels(hash, width, height) {
    const size = decode83(hash[0]);
    const nx = (size % 9) + 1;
    const ny = Math.floor(size / 9) + 1;
    if (hash.length !== 4 + 2 * nx * ny) return null;
    const max = (decode83(hash[1]) + 1) / 166;
    const colours = [];
    const dc = decode83(hash.slice(2, 6));
    colours.push([toLinear(dc >> 16), toLinear((dc >> 8) & 255), toLinear(dc & 255)]);
    for (let i = 1; i < nx * ny; i++) {
      const v = decode83(hash.slice(4 + i * 2, 6 + i * 2));
      colours.push([Math.floor(v / 361), Math.floor(v / 19) % 19, v % 19].map((q) => signedSquare((q - 9) / 9) * max));
    }
    const out = new Uint8ClampedArray(width * height * 4);
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        let r = 0, g = 0, b = 0;
        for (let j = 0; j < ny; j++) {
          for (let i = 0; i < nx; i++) {
            const basis = Math.cos((Math.PI * x * i) / width) * Math.cos((Math.PI * y * j) / height);
            const c = colours[i + j * nx];
            r += c[0] * basis; g += c[1] * basis; b += c[2] * basis;
          }
        }
        const at = 4 * (x + y * width);
        out[at] = toSrgb(r); out[at + 1] = toSrgb(g); out[at + 2] = toSrgb(b); out[at + 3] = 255;
      }
    }
    return out;
  }

  function paint(element) {
    const hash = element.dataset.blurhash;
    if (!hash || hash.length < 6) return;
    const data = pixels(hash, 32, 32);
    if (!data) return;
    const canvas = document.createElement("canvas");
    canvas.width = 32; canvas.height = 32;
    canvas.getContext("2d").putImageData(new ImageData(data, 32, 32), 0, 0);
    element.style.backgroundImage = `url(${canvas.toDataURL()})`;
    element.classList.add("has-blurhash");
  }

  document.addEventListener("DOMContentLoaded", () => document.querySelectorAll("[data-blurhash]").forEach(paint));
})();
