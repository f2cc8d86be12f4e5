/* Zone maps without tiles: Leaflet draws the zones' polygons on a plain background (nothing is fetched from
   elsewhere). On the zone form, clicks add corners of a new outline; "Finish outline" writes it as GeoJSON
   into the form's text area, and typing or pasting GeoJSON there redraws it. */
(function () {
  "use strict";
  var DEFAULT_CENTRE = [44.4405, 26.0985]; // the demo city, when there is nothing to fit the view to
  var OTHER = { color: "#5b6570", weight: 1, fillOpacity: 0.15 };
  var CURRENT = { color: "#0b5cad", weight: 3, fillOpacity: 0.25 };

  function makeMap(element) {
    var map = L.map(element, { zoomControl: true, attributionControl: false, zoomSnap: 0.25 });
    var others = L.geoJSON(JSON.parse(element.dataset.zones || '{"type":"FeatureCollection","features":[]}'), {
      style: function () { return OTHER; },
      onEachFeature: function (feature, layer) {
        var p = feature.properties || {};
        layer.bindTooltip(String(p.code || "") + (p.name ? " – " + p.name : ""));
        if (!element.dataset.target && p.id) {  // the list's map: a zone opens its page
          layer.on("click", function () { window.location.href = "/admin/zones/" + encodeURIComponent(p.id); });
        }
      }
    }).addTo(map);
    var bounds = others.getBounds();
    if (bounds.isValid()) { map.fitBounds(bounds.pad(0.2)); } else { map.setView(DEFAULT_CENTRE, 14); }
    return { map: map, bounds: bounds };
  }

  function parseOutline(text) {
    try {
      var doc = JSON.parse(text);
      if (doc && doc.type === "Feature") { doc = doc.geometry; }
      if (doc && (doc.type === "Polygon" || doc.type === "MultiPolygon")) { return doc; }
    } catch (ignored) { /* the server names the problem on save */ }
    return null;
  }

  function editor(element) {
    var made = makeMap(element);
    var map = made.map;
    var target = document.getElementById(element.dataset.target);
    var status = document.getElementById("draw-status");
    var corners = [];
    var sketch = L.polyline([], { color: "#b3261e", weight: 2, dashArray: "4 4" }).addTo(map);
    var markers = L.layerGroup().addTo(map);
    var shown = null;

    function say(text) { if (status) { status.textContent = text; } }

    function showOutline(fit) {
      if (shown) { map.removeLayer(shown); shown = null; }
      var geometry = parseOutline(target.value);
      if (!geometry) { return; }
      shown = L.geoJSON(geometry, { style: function () { return CURRENT; } }).addTo(map);
      if (fit && shown.getBounds().isValid()) { map.fitBounds(shown.getBounds().pad(0.2)); }
    }

    function redrawSketch() {
      sketch.setLatLngs(corners.length > 2 ? corners.concat([corners[0]]) : corners);
      markers.clearLayers();
      corners.forEach(function (corner) {
        L.circleMarker(corner, { radius: 4, color: "#b3261e", fillOpacity: 1 }).addTo(markers);
      });
      say(corners.length ? corners.length + " corner(s); " + (corners.length < 3 ? "at least 3 needed" : "finish when done") : "");
    }

    map.on("click", function (event) {
      corners.push([event.latlng.lat, event.latlng.lng]);
      redrawSketch();
    });
    document.getElementById("draw-undo").addEventListener("click", function () { corners.pop(); redrawSketch(); });
    document.getElementById("draw-clear").addEventListener("click", function () {
      corners = []; redrawSketch(); target.value = ""; showOutline(false);
    });
    document.getElementById("draw-finish").addEventListener("click", function () {
      if (corners.length < 3) { say("click at least 3 corners on the map first"); return; }
      var ring = corners.map(function (c) { return [Number(c[1].toFixed(6)), Number(c[0].toFixed(6))]; });
      ring.push(ring[0]);
      target.value = JSON.stringify({ type: "Polygon", coordinates: [ring] });
      corners = []; redrawSketch(); showOutline(false);
      say("outline written below; save the zone to keep it");
    });
    target.addEventListener("input", function () { showOutline(true); });
    showOutline(true);
  }

  document.querySelectorAll(".zone-map").forEach(function (element) {
    if (element.dataset.target) { editor(element); } else { makeMap(element); }
  });
})();
