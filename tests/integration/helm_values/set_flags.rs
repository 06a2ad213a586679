//! The `--set` family (`--set`, `--set-string`, `--set-json`, `--set-literal`,
//! `--set-file`) read as Helm reads it: types, syntax and escapes, list indexes, the nesting
//! limit, and the order in which the flags apply.

use super::{Arg, assert_agree, file, flag, set};

fn each(flag: &'static str, args: &[&str]) -> Vec<Vec<Arg>> {
    args.iter()
        .map(|a| vec![Arg::Set(flag, (*a).to_string())])
        .collect()
}

#[test]
fn set_types_values_like_helm() {
    assert_agree(&each(
        "--set",
        &[
            "a=1",
            "a=-1",
            "a=+1",
            "a=0",
            "a=-0",
            "a=00",
            "a=010",
            "a=1.5",
            "a=16.10",
            "a=.5",
            "a=1e3",
            "a=0x1F",
            "a=1_000",
            "a=9223372036854775807",
            "a=9223372036854775808",
            "a=-9223372036854775808",
            "a=-9223372036854775809",
            "a=true",
            "a=TRUE",
            "a=True",
            "a=tRuE",
            "a=false",
            "a=FALSE",
            "a=falſe",
            "a=yes",
            "a=on",
            "a=off",
            "a=null",
            "a=NULL",
            "a=Null",
            "a=~",
            "a=",
            "a= 1",
            "a=1 ",
            "a=é",
            "a=0.9",
            "a=1.0",
        ],
    ));
}

#[test]
fn set_syntax_escapes_and_errors_match_helm() {
    assert_agree(&each(
        "--set",
        &[
            "a=1,",
            "",
            ",",
            ",a=1",
            "a=1,,b=2",
            "a",
            "a.b",
            "a.=1",
            ".a=1",
            "a..b=1",
            r"a\.b=1",
            r"a\=b=1",
            r"a=b\,c",
            r"a=b\",
            r"a\,b=1",
            r"a\\b=1",
            "a=x=y",
            "=1",
            "=",
            "a=1=2",
            "a=1,b=2,c=3",
            "a.b.c=1,a.b.d=2",
            "a.b=1,a=2",
            "a=1,a.b=2",
            "a=null,a.b=1",
            "a={}",
            "a={x}",
            "a={x,y}",
            "a={x,y",
            "a={x,y}z",
            "a={x,y},b=1",
            "a={1,true,null,1.5,010}",
            "a={{x}}",
            "a={x}}",
            r"a={x\,y,z}",
            "a={,}",
            "a= {x}",
            "a.b={x},a.c=1",
            "top.x=1",
            "str.x=1",
            "list.x=1",
            "nul.x=1",
            "d.x.y=1",
            "d.m.k=null",
            "d=null",
            "d.x=null",
            "d.nn=1",
            "d.nn=null",
            "zz=null",
            "d.zz=null",
            "top=null",
            "list=null",
            "d.l=null",
            "d=1",
            "top.a=1",
            "d.m=x",
        ],
    ));
}

#[test]
fn set_list_indexes_match_helm() {
    assert_agree(&each(
        "--set",
        &[
            "a[0]=x",
            "a[1]=x",
            "a[0]=x,a[2]=y",
            "a[0",
            "a[0]",
            "a[0]=",
            "a[0].b=",
            "a[0].b=1",
            "a[0][1]=x",
            "a[0][1",
            "a[-1]=x",
            "a[x]=1",
            "a[+1]=1",
            "a[]=1",
            "a[65536]=1",
            "a[65537]=1",
            "a[0]x=1",
            "a[0]=1,a[0]=2",
            "a[0].b.c=1,a[0].d=2",
            "a[1].b=1,a[0].c=2",
            "a[0]=1,a[0].b=2",
            "a[0].b=1,a[0]=2",
            "a[0][0]=1,a[0][1]=2",
            "a[0]=1,a[0][1]=2",
            "list[0]=z",
            "list[3]=z",
            "list[0].k=v",
            "top[0]=1",
            "str[0]=1",
            "nul[0]=1",
            "d.l[1]=9",
            "d.l[0][0]=9",
            "d.m[0]=1",
            "[0]=1",
            "a.b[0]=1,a.b[1]=2",
            "a[0]={x,y}",
            "a[0]=null",
            "a[0]=,b=1",
            "a[0],b=1",
            "a[0]b",
            "a[0][",
            "a[0].",
            "a.b[0",
            "a[0]=1,",
            "a[0].[1]=2",
            "a[0]..b=1",
            "a[0].=1",
            "a[0]]=1",
            "a[[0]]=1",
            r"a\[0]=1",
            r"a[0\]]=1",
        ],
    ));
}

#[test]
fn set_nesting_limit_is_helms() {
    let deep = |n: usize| format!("{}=1", vec!["k"; n + 1].join("."));
    assert_agree(&[
        vec![set(&deep(30))],
        vec![set(&deep(31))],
        vec![flag("--set-literal", &deep(30))],
        vec![flag("--set-literal", &deep(31))],
        vec![set(&format!("a[0].{}", deep(30)))],
        vec![set(&format!("a[0].{}", deep(29)))],
    ]);
}

#[test]
fn set_string_json_literal_and_file_match_helm() {
    let mut cases = each(
        "--set-string",
        &[
            "a=1", "a=true", "a=null", "a={1,2}", "a[0]=1", "a=", "a.b=010", "a=1.5", "d.x=2",
            "d=null", "a=x,b=", "a",
        ],
    );
    cases.extend(each(
        "--set-json",
        &[
            "a=1",
            r#"a="x""#,
            r#"a={"b":[1,2]}"#,
            r#"a=[1,{"c":null}]"#,
            "a=null",
            "a=",
            "a=,b=2",
            "a=1b=2",
            "a=truex",
            "a=tru",
            "a= 1",
            "a=1.0",
            "a=1e400",
            "a=1.5e300",
            r#"a={"x":1}{"y"}"#,
            r#"{"a":{"b":1}}"#,
            r#" {"a":1}"#,
            r#"{"a":1} x"#,
            r#"{"d":{"x":null}}"#,
            "a[0]=1",
            r#"a[1]={"x":1}"#,
            r#"a.b="s",c=2"#,
            "a=-",
            "a=01",
            "a=-0",
            "a=12345678901234567890",
            r#"a="\u00e9""#,
            r#"a={"k":1,"k":2}"#,
            "a=[",
            r#"a="unterminated"#,
            "a=1,",
            "a=1 ,b=2",
            "a",
            "a=1,,b=2",
            "d=null",
            "d.m=null",
            "a=[1,2],b=[3]",
            "a=1.",
            "a=-1",
            "a=.5",
            "a=TRUE",
            "a=nul",
            "{}",
            "{",
            r#"{"a":1,}"#,
        ],
    ));
    cases.extend(each(
        "--set-literal",
        &[
            "a=1,b=2", r"a=x\,y", "a.b=c=d", "a[0]=1", r"a\.b=1", "a", "a=", "a={x}", "a=null",
            "a=true", "a.b[1]=x", "a[0].b=1", "a[0]", "a[0", "=1", ".a=1", "a..b=1", "d=1",
            "d.m.k=x", "top.x=1", "a=1\n2",
        ],
    ));
    cases.extend([
        vec![Arg::SetFile("a".into(), "hello\n".into())],
        vec![Arg::SetFile("d.x".into(), "1".into())],
        vec![Arg::SetFile("a[0]".into(), "x: 1".into())],
        vec![flag("--set-file", "a=/nonexistent/file")],
        vec![flag("--set-file", "a")],
    ]);
    assert_agree(&cases);
}

#[test]
fn flags_apply_in_helms_order() {
    assert_agree(&[
        vec![set("a=1"), flag("--set-string", "a=2")],
        vec![flag("--set-string", "a=2"), set("a=1")],
        vec![
            flag("--set-literal", "a=lit"),
            set("a=1"),
            flag("--set-json", "a=3"),
        ],
        vec![flag("--set-json", "a=3"), set("a=1")],
        vec![set("a=1"), set("a=2")],
        vec![set("a.b=1"), set("a=2")],
        vec![set("a=2"), set("a.b=1")],
        vec![file("a: 1\n"), set("a=2")],
        vec![file("d: null\n"), set("d.x=5")],
        vec![file("d: {x: null}\n"), set("d.x=5")],
        vec![file("a: [1, 2]\n"), set("a[1]=x")],
        vec![file("a: x\n"), set("a[0]=1")],
        vec![file("a: {b: 1}\n"), set("a.c=2")],
        vec![set("a[0]=1"), set("a[2]=3")],
        vec![set("a[0].b=1"), set("a[0].c=2")],
        vec![set("a[0]=x"), set("a[0].b=1")],
        vec![
            Arg::SetFile("a".into(), "file".into()),
            flag("--set-literal", "a=lit"),
        ],
        vec![file("a: 1\n"), file("a: 2\nb: 3\n")],
        vec![Arg::Files(vec!["a: 1\n".into(), "a: 2\n".into()])],
        vec![file("d: {x: 2}\n"), file("d: {l: [9]}\n")],
        vec![file("d: {m: null}\n"), file("d: {m: {k: w}}\n")],
        vec![
            flag("--set-json", r#"{"a":{"b":1}}"#),
            flag("--set-json", "a.c=2"),
        ],
    ]);
}
