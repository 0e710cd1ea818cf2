//! `images`: rewrites container images (name, tag, digest) in every `containers` /
//! `initContainers` list anywhere in an object (kustomize's legacy image filter; not in
//! CustomResourceDefinitions) and in pod `volumes[].image.reference`.

use serde_json::Value;

use super::config::TransformerConfig;
use crate::kustomize::fieldspec::{FieldSpec, Leaf, visit};
use crate::kustomize::kustomization::{Image, Loaded};
use crate::kustomize::resource::Resource;

/// Applies `l.k.images`.
pub(crate) fn apply(l: &Loaded, res: &mut [Resource], config: &TransformerConfig) {
    for img in &l.k.images {
        apply_one(img, res, &config.images);
    }
}

/// Applies one image rule everywhere (kustomize's legacy filter) and at `specs` (the image
/// fields of `configurations`, or an `ImageTagTransformer`'s own field specs).
pub(crate) fn apply_one(img: &Image, res: &mut [Resource], specs: &[FieldSpec]) {
    {
        let Ok(re) = regex::Regex::new(&format!(
            "^{}(:[a-zA-Z0-9_.{{}}-]*)?(@sha256:[a-zA-Z0-9_.{{}}-]*)?$",
            img.name
        )) else {
            return;
        };
        for r in res.iter_mut() {
            if r.kind() == "CustomResourceDefinition" {
                continue;
            }
            walk(&mut r.obj, img, &re);
            // Image fields that `configurations` name (custom resources' own image fields).
            let gvk = r.gvk();
            for fs in specs.iter().filter(|fs| fs.selects(&gvk)) {
                let _ = visit::<()>(
                    &mut r.obj,
                    &fs.segments(),
                    false,
                    Leaf::Scalar,
                    &mut |node| {
                        if let Value::String(s) = node {
                            update(s, img, &re);
                        }
                        Ok(())
                    },
                );
            }
            for prefix in ["/spec/volumes", "/spec/template/spec/volumes"] {
                if let Some(Value::Array(vols)) = r.obj.pointer_mut(prefix) {
                    for v in vols {
                        if let Some(Value::String(s)) = v.pointer_mut("/image/reference") {
                            update(s, img, &re);
                        }
                    }
                }
            }
        }
    }
}

fn walk(v: &mut Value, img: &Image, re: &regex::Regex) {
    match v {
        Value::Object(m) => {
            for (k, child) in m.iter_mut() {
                walk(child, img, re);
                if (k == "containers" || k == "initContainers")
                    && let Value::Array(items) = child
                {
                    for c in items {
                        if let Some(Value::String(s)) = c.get_mut("image") {
                            update(s, img, re);
                        }
                    }
                }
            }
        }
        Value::Array(a) => a.iter_mut().for_each(|x| walk(x, img, re)),
        _ => {}
    }
}

fn update(s: &mut String, img: &Image, re: &regex::Regex) {
    if !re.is_match(s) {
        return;
    }
    let (mut name, mut tag, mut digest) = split(s);
    if !img.new_name.is_empty() {
        name = img.new_name.clone();
    }
    if !img.new_tag.is_empty() && !img.digest.is_empty() {
        tag = img.new_tag.clone();
        digest = img.digest.clone();
    } else if !img.new_tag.is_empty() {
        tag = img.new_tag.clone();
        digest.clear();
    } else if !img.digest.is_empty() {
        tag.clear();
        digest = img.digest.clone();
    }
    let mut out = name;
    if !tag.is_empty() {
        out.push(':');
        out.push_str(&tag);
    }
    if !digest.is_empty() {
        out.push('@');
        out.push_str(&digest);
    }
    *s = out;
}

/// Splits `[host[:port]/]path[:tag][@digest]` into name, tag and digest (kustomize
/// `image.Split`).
pub(crate) fn split(image: &str) -> (String, String, String) {
    let slash = image.find('/').filter(|&i| i > 0).unwrap_or(0);
    let search = &image[slash..];
    let id = search.find('@');
    let ic = search.find(':');
    match (ic, id) {
        (None, None) => (image.to_string(), String::new(), String::new()),
        (ic, Some(d)) if ic.is_none_or(|c| d < c) => {
            let d = d + slash;
            (
                image[..d].to_string(),
                String::new(),
                image[d + 1..].to_string(),
            )
        }
        (Some(c), Some(d)) => {
            let (c, d) = (c + slash, d + slash);
            (
                image[..c].to_string(),
                image[c + 1..d].to_string(),
                image[d + 1..].to_string(),
            )
        }
        (Some(c), None) => {
            let c = c + slash;
            (
                image[..c].to_string(),
                image[c + 1..].to_string(),
                String::new(),
            )
        }
        (None, Some(_)) => (image.to_string(), String::new(), String::new()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_images() {
        let s = |x: &str| split(x);
        assert_eq!(s("nginx"), ("nginx".into(), "".into(), "".into()));
        assert_eq!(s("nginx:1.2"), ("nginx".into(), "1.2".into(), "".into()));
        assert_eq!(
            s("reg:5000/a/b:t"),
            ("reg:5000/a/b".into(), "t".into(), "".into())
        );
        assert_eq!(s("a@sha256:x"), ("a".into(), "".into(), "sha256:x".into()));
        assert_eq!(
            s("a:t@sha256:x"),
            ("a".into(), "t".into(), "sha256:x".into())
        );
    }
}
