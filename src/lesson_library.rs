//! Where lessons come from: the ones built into the binary, and a folder of one's own.

use std::collections::BTreeMap;
use std::path::Path;

use kdive_core::lesson::format::{self, Lesson, LessonError};

include!(concat!(env!("OUT_DIR"), "/embedded_lessons.rs"));

/// A lesson's text and its other files, before parsing.
#[derive(Debug, Clone)]
pub struct LessonFiles {
    /// `lessons/<topic>/<lesson>/lesson.md` (or the path on disk).
    pub source: String,
    /// `<topic>/<lesson>`: what the front matter's `id` must say (empty: not checked).
    pub expected_id: String,
    pub text: String,
    pub files: BTreeMap<String, String>,
}

/// Groups (relative path, text) pairs into lessons: each `lesson.md` with the files below
/// its folder.
fn group(prefix: &str, entries: &[(String, String)]) -> Vec<LessonFiles> {
    let mut lessons = Vec::new();
    for (path, text) in entries {
        let Some(dir) = path.strip_suffix("lesson.md") else {
            continue;
        };
        let files = entries
            .iter()
            .filter(|(p, _)| {
                p != path && p.starts_with(dir) && !p[dir.len()..].contains("lesson.md")
            })
            .map(|(p, t)| (p[dir.len()..].to_string(), t.clone()))
            .collect();
        lessons.push(LessonFiles {
            source: format!("{prefix}{path}"),
            expected_id: dir.trim_end_matches('/').to_string(),
            text: text.clone(),
            files,
        });
    }
    lessons
}

/// The lessons built into the binary.
pub fn embedded() -> Vec<LessonFiles> {
    let entries: Vec<(String, String)> = EMBEDDED
        .iter()
        .map(|(p, t)| (p.to_string(), t.to_string()))
        .collect();
    group("lessons/", &entries)
}

/// Lessons in a folder laid out like `lessons/` (`<topic>/<lesson>/lesson.md`), or a single
/// lesson folder or `lesson.md` file.
pub fn from_path(path: &Path) -> Result<Vec<LessonFiles>, LessonError> {
    let io = |p: &Path, e: std::io::Error| LessonError {
        file: p.display().to_string(),
        line: 0,
        message: e.to_string(),
    };
    if path.is_file() {
        // One lesson file, whatever its name: its folder's files come with it; its id is
        // not checked against a folder.
        let root = path.parent().unwrap_or(Path::new("."));
        let mut entries = Vec::new();
        walk(root, root, &mut entries).map_err(|e| io(root, e))?;
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let text = std::fs::read_to_string(path).map_err(|e| io(path, e))?;
        return Ok(vec![LessonFiles {
            source: path.display().to_string(),
            expected_id: String::new(),
            text,
            files: entries
                .into_iter()
                .filter(|(p, _)| *p != name && p.contains('/'))
                .collect(),
        }]);
    }
    let (root, single) = if path.join("lesson.md").is_file() {
        (path.to_path_buf(), true)
    } else {
        (path.to_path_buf(), false)
    };
    let mut entries = Vec::new();
    walk(&root, &root, &mut entries).map_err(|e| io(&root, e))?;
    let prefix = format!("{}/", root.display());
    let mut lessons = group(&prefix, &entries);
    if single {
        // A lesson given on its own: its id is whatever its folder is called under its topic.
        for l in &mut lessons {
            let parts: Vec<_> = root.components().rev().take(2).collect();
            if let [lesson, topic] = parts.as_slice() {
                l.expected_id = format!(
                    "{}/{}",
                    topic.as_os_str().to_string_lossy(),
                    lesson.as_os_str().to_string_lossy()
                );
            }
        }
    }
    Ok(lessons)
}

fn walk(root: &Path, dir: &Path, out: &mut Vec<(String, String)>) -> std::io::Result<()> {
    let mut entries: Vec<_> = std::fs::read_dir(dir)?
        .flatten()
        .map(|e| e.path())
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            walk(root, &p, out)?;
        } else if matches!(
            p.extension().and_then(|x| x.to_str()),
            Some("md" | "yaml" | "yml")
        ) {
            let rel = p
                .strip_prefix(root)
                .unwrap_or(&p)
                .to_string_lossy()
                .replace('\\', "/");
            out.push((rel, std::fs::read_to_string(&p)?));
        }
    }
    Ok(())
}

/// Parses one lesson and checks that its id matches its folder.
pub fn parse(files: &LessonFiles) -> Result<Lesson, LessonError> {
    let lesson = format::parse(&files.source, &files.text, &files.files)?;
    if !files.expected_id.is_empty() && lesson.id != files.expected_id {
        return Err(LessonError {
            file: files.source.clone(),
            line: files
                .text
                .lines()
                .position(|l| l.starts_with("id:"))
                .map_or(2, |i| i + 1),
            message: format!(
                "id {:?} does not match the lesson's folder (expected {:?})",
                lesson.id, files.expected_id
            ),
        });
    }
    Ok(lesson)
}

/// Built-in lessons plus those under `extra`; a lesson in `extra` with the id of a built-in
/// one replaces it.
pub fn load(extra: Option<&Path>) -> Result<Vec<Lesson>, LessonError> {
    let mut by_id: BTreeMap<String, Lesson> = BTreeMap::new();
    for f in embedded() {
        let l = parse(&f)?;
        by_id.insert(l.id.clone(), l);
    }
    if let Some(dir) = extra {
        for f in from_path(dir)? {
            let l = parse(&f)?;
            by_id.insert(l.id.clone(), l);
        }
    }
    Ok(by_id.into_values().collect())
}
