// The read's map: every zone drawn from its GeoJSON (the deciding one stronger) and the vehicle's point.
// No tiles: nothing is fetched from elsewhere (the CSP allows only this site).
(function () {
  "use strict";
  var element = document.getElementById("read-map");
  if (!element || !window.L) { return; }
  var L = window.L;
  var lat = parseFloat(element.dataset.lat), lon = parseFloat(element.dataset.lon);
  var zones = JSON.parse(element.dataset.zones || '{"type": "FeatureCollection", "features": []}');
  var decided = null;
  var shapes = L.geoJSON(zones, {
    style: function (feature) {
      return feature.properties.decided
        ? { color: "#0b5cad", weight: 3, fillOpacity: 0.15 }
        : { color: "#5b6570", weight: 1, dashArray: "4 4", fillOpacity: 0.04 };
    },
    onEachFeature: function (feature, layer) {
      layer.bindTooltip(feature.properties.name, { sticky: true });
      if (feature.properties.decided) { decided = layer; }
    }
  });
  var map = L.map(element, { attributionControl: false, zoomSnap: 0.25 });
  // The view first: a layer with an open tooltip needs the map placed.
  if (decided) {
    map.fitBounds(decided.getBounds().extend([lat, lon]), { padding: [24, 24] });
  } else {
    map.setView([lat, lon], 16);
  }
  shapes.addTo(map);
  L.circleMarker([lat, lon], { radius: 8, color: "#b3261e", weight: 2, fillColor: "#b3261e", fillOpacity: 0.8 })
    .addTo(map).bindTooltip(element.dataset.label || "", { permanent: true, direction: "right" });
  element.dataset.ready = "yes";
}());
