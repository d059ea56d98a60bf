//! Checks a toolset's declarations the way the host will, for authors' unit tests.

use std::collections::BTreeSet;

use crate::Toolset;

/// Checks what `T` declares against the contract, as the host will when it loads the component:
/// the toolset name is `[a-z0-9-]`, tool names are 1–128 characters of `[A-Za-z0-9_.-]` and
/// unique, input schemas (and output schemas) are objects, prompt names are unique. Returns every
/// problem found. Call it from a native unit test:
///
/// ```
/// # use obi_toolset_sdk::prelude::*;
/// # struct Mine;
/// # impl Toolset for Mine {
/// #     fn info() -> Info { Info::new("mine", "0.1.0", "Mine.") }
/// #     fn tools() -> Vec<Tool> { vec![] }
/// # }
/// assert_eq!(obi_toolset_sdk::validate::<Mine>(), Ok(()));
/// ```
pub fn validate<T: Toolset>() -> Result<(), Vec<String>> {
    let mut problems = Vec::new();
    let info = T::info();
    if info.name.is_empty()
        || !info
            .name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    {
        problems.push(format!(
            "toolset name {:?} is not made of [a-z0-9-]",
            info.name
        ));
    }
    let mut names = BTreeSet::new();
    for tool in T::tools() {
        let name = tool.name();
        let valid_chars = name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'));
        if name.is_empty() || name.len() > 128 || !valid_chars {
            problems.push(format!(
                "tool name {name:?} is not 1-128 characters of [A-Za-z0-9_.-]"
            ));
        }
        if !names.insert(name.to_string()) {
            problems.push(format!("tool name {name:?} is declared twice"));
        }
        if tool.input_schema().get("type").and_then(|t| t.as_str()) != Some("object") {
            problems.push(format!("tool {name:?}: the input schema is not an object"));
        }
    }
    let mut prompts = BTreeSet::new();
    for prompt in T::prompts() {
        if !prompts.insert(prompt.name().to_string()) {
            problems.push(format!("prompt {:?} is declared twice", prompt.name()));
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Info, NoArgs, Tool};

    struct Bad;

    impl Toolset for Bad {
        fn info() -> Info {
            Info::new("Bad Name", "0.1.0", "Bad.")
        }

        fn tools() -> Vec<Tool> {
            let ok = |_: &crate::Context, _: NoArgs| Ok(String::new());
            vec![
                Tool::text("dup", "One.", ok),
                Tool::text("dup", "Two.", ok),
                Tool::text("has space", "Three.", ok),
                Tool::text("unit", "Four.", |_, _: Option<String>| Ok(String::new())),
            ]
        }
    }

    #[test]
    fn validate_reports_every_problem() {
        let problems = validate::<Bad>().unwrap_err();
        assert_eq!(problems.len(), 4, "{problems:#?}");
        assert!(problems[0].contains("Bad Name"));
        assert!(problems[1].contains("declared twice"));
        assert!(problems[2].contains("has space"));
        assert!(problems[3].contains("\"unit\": the input schema is not an object"));
    }
}
