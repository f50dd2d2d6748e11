//! Format-preserving edits of strict JSON documents (settings files). See DEVIATIONS.md 1.
