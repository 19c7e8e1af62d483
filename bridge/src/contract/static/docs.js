// Renders /openapi.json with Swagger UI, served from the project (no CDN: the network is closed).
// The online validator badge is off for the same reason. The key for "Try it out" is entered in
// Authorize and kept only in this page's memory.
/* global SwaggerUIBundle */
window.addEventListener('load', function () {
  window.ui = SwaggerUIBundle({
    url: '/openapi.json',
    dom_id: '#swagger-ui',
    deepLinking: true,
    validatorUrl: null,
    presets: [SwaggerUIBundle.presets.apis],
    layout: 'BaseLayout',
    docExpansion: 'list',
    defaultModelsExpandDepth: 0,
  });
});
