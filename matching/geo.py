"""Great-circle distances."""

import numpy as np

EARTH_RADIUS_KM = 6371.0088


def haversine_km(
    lat1: float, lon1: float, lat2: np.ndarray | float, lon2: np.ndarray | float
) -> np.ndarray:
    """Distance in km from one point to one or many points; lat2/lon2 are scalars or (n,) arrays."""
    p1, l1 = np.radians(lat1), np.radians(lon1)
    p2, l2 = (
        np.radians(np.asarray(lat2, dtype=np.float64)),
        np.radians(np.asarray(lon2, dtype=np.float64)),
    )
    a = np.sin((p2 - p1) / 2.0) ** 2 + np.cos(p1) * np.cos(p2) * np.sin((l2 - l1) / 2.0) ** 2
    return np.asarray(2.0 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0))))
