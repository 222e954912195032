//! Patch types the API server accepts (JSON merge, JSON patch, strategic merge, apply).
