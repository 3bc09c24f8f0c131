// Offline after the first visit: the app shell, onnxruntime-web's wasm runtime, the WHO rules and every
// bundle of a browser mode that the server lists in /bundles/index.json (the skin-condition bundle too, once one is served) are
// cached at install; anything else the app fetches is cached on first use. Responses come from the cache
// and are refreshed in the background, so an update shows on the next visit. The JSON API (/v1, /healthz,
// /docs) is never cached.
const CACHE = 'vitalens-app-v9';
const SHELL = [
  '/', '/index.html', '/style.css', '/manifest.webmanifest', '/icon-192.png', '/icon-512.png',
  '/js/app.js', '/js/camera_view.js', '/js/centre_crop.js', '/js/detection.js', '/js/draw.js', '/js/face.js', '/js/hb.js', '/js/hb_scale.js', '/js/html.js', '/js/image.js',
  '/js/lighting.js', '/js/nails.js', '/js/photo.js', '/js/quality.js', '/js/resample.js', '/js/results.js', '/js/runtime.js',
  '/js/screen.js', '/js/site_check.js', '/js/skin.js', '/js/stats.js', '/js/ui-face.js', '/js/ui-hb.js', '/js/ui-skin.js', '/js/who.js',
  '/js/hb_conjunctiva.js', '/js/ui-hb_conjunctiva.js', '/js/hb_lips.js', '/js/lip_cv.js', '/js/lip_regions.js', '/js/ui-hb_lips.js',
  '/js/cv_ports.js', '/js/face_detector.js', '/js/face_gate.js', '/js/stages.js',
  '/rules/who_2024_anaemia.json', '/bundles/index.json',
  '/vendor/onnxruntime-web/ort.wasm.min.mjs', '/vendor/onnxruntime-web/ort-wasm-simd-threaded.mjs',
  '/vendor/onnxruntime-web/ort-wasm-simd-threaded.wasm',
];
const NEVER_CACHED = ['/v1/', '/healthz', '/docs', '/openapi.json', '/redoc'];

self.addEventListener('install', (event) => {
  event.waitUntil((async () => {
    const cache = await caches.open(CACHE);
    await cache.addAll(SHELL);
    const index = await (await cache.match('/bundles/index.json')).json();
    // only the bundles a browser mode runs: a served bundle without a mode is never downloaded
    await cache.addAll(Object.entries(index.tasks).filter(([task]) => index.modes?.[task]).flatMap(([, files]) => files));
    await self.skipWaiting();
  })());
});

self.addEventListener('activate', (event) => {
  event.waitUntil((async () => {
    for (const name of await caches.keys()) if (name !== CACHE) await caches.delete(name);
    await self.clients.claim();
  })());
});

self.addEventListener('fetch', (event) => {
  const url = new URL(event.request.url);
  if (event.request.method !== 'GET' || url.origin !== location.origin || NEVER_CACHED.some((p) => url.pathname.startsWith(p))) return;
  event.respondWith((async () => {
    const cache = await caches.open(CACHE);
    const key = event.request.mode === 'navigate' ? '/' : url.pathname;
    const cached = await cache.match(key);
    const refreshed = fetch(event.request).then((response) => {
      if (response.ok) cache.put(key, response.clone());
      return response;
    });
    if (cached) {
      refreshed.catch(() => {}); // offline: the cached copy is the answer
      return cached;
    }
    return refreshed;
  })());
});
