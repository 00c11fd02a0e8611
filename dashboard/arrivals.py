"""What pages compute for their first visitor, which the server's warm-up (services.warm_up) computes ahead while
it is idle, so that a warm server opens them from the cache: the Interpolate page's two walks and the Latent map's
PCA map (0.7 s and 2.5 s of CPU here on toonfaces64). Each entry takes a checkpoint id and fills the same caches
that the page reads, with the page's own defaults."""

from __future__ import annotations

from dashboard.views import interpolate, latent_map

ARRIVALS = (interpolate.arrival, latent_map.arrival)
# what a visitor's first Compute on the Latent map likely asks for, computed after the arrivals and the other first
# uses (services.warm_up): the 2,000-point map's images and features, then its t-SNE (about 10 s of CPU together)
LATER = (latent_map.ahead_points, latent_map.ahead_tsne)
