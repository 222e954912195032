//! DNS: records, pod resolv.conf, search-path expansion.
