//! The built-in transformers kustomize runs after patches, in its order: namespace,
//! name prefix/suffix, labels, annotations, replicas, images; and the name-reference fix-up
//! run once at the end of the build. Each works on the accumulated resources in place, with
//! kustomize's default field specs plus those of `configurations` (`config`).

pub(crate) mod config;
pub(crate) mod images;
pub(crate) mod labels;
pub(crate) mod nameref;
pub(crate) mod namespace;
pub(crate) mod prefix;
pub(crate) mod replicas;
