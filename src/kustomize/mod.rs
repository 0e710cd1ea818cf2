//! A Kustomize renderer, equal to `kustomize build` for the features democtl's tree and its
//! conformance corpus use. Pure: reads files under the kustomization root, never the network.
