//! Decoding Kubernetes protobuf request bodies into JSON objects.
