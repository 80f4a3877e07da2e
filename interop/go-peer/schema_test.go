package main

import (
	"encoding/json"
	"os"
	"reflect"
	"sort"
	"strings"
	"testing"
)

type controlSchema struct {
	Types    map[string]map[string]string `json:"types"`
	Commands map[string]struct {
		Args  string `json:"args"`
		Reply string `json:"reply"`
	} `json:"commands"`
}

func loadSchema(t *testing.T) controlSchema {
	t.Helper()
	data, err := os.ReadFile("control-protocol.json")
	if err != nil {
		t.Fatal(err)
	}
	var s controlSchema
	if err := json.Unmarshal(data, &s); err != nil {
		t.Fatal(err)
	}
	return s
}

// checkType reports how Go type typ differs from schema type name (a named
// type of the schema: its struct must have the same name and JSON fields).
func checkType(s controlSchema, name string, typ reflect.Type) []string {
	fields, ok := s.Types[name]
	if !ok {
		return []string{"the schema has no type " + name}
	}
	if typ.Kind() != reflect.Struct || typ.Name() != name {
		return []string{typ.String() + " should be a struct named " + name}
	}
	var problems []string
	seen := map[string]bool{}
	for i := 0; i < typ.NumField(); i++ {
		f := typ.Field(i)
		tag := strings.Split(f.Tag.Get("json"), ",")[0]
		if tag == "" || tag == "-" {
			problems = append(problems, name+"."+f.Name+" has no json name")
			continue
		}
		seen[tag] = true
		want, ok := fields[tag]
		if !ok {
			problems = append(problems, name+"."+tag+" is not in the schema")
			continue
		}
		problems = append(problems, checkField(s, name+"."+tag, want, f.Type)...)
	}
	for field := range fields {
		if !seen[field] {
			problems = append(problems, name+"."+field+" is in the schema but not in the Go struct")
		}
	}
	return problems
}

func checkField(s controlSchema, where, want string, typ reflect.Type) []string {
	if strings.HasSuffix(want, "?") {
		want = strings.TrimSuffix(want, "?")
		if typ.Kind() == reflect.Pointer {
			typ = typ.Elem()
		}
	}
	bad := []string{where + ": " + typ.String() + " does not match " + want}
	switch {
	case want == "string":
		if typ.Kind() != reflect.String {
			return bad
		}
	case want == "boolean":
		if typ.Kind() != reflect.Bool {
			return bad
		}
	case want == "number":
		switch typ.Kind() {
		case reflect.Int, reflect.Int32, reflect.Int64, reflect.Uint, reflect.Uint32, reflect.Uint64, reflect.Float64:
		default:
			return bad
		}
	case want == "bytes":
		if typ.Kind() != reflect.Slice || typ.Elem().Kind() != reflect.Uint8 {
			return bad
		}
	case strings.HasSuffix(want, "[]"):
		if typ.Kind() != reflect.Slice {
			return bad
		}
		return checkField(s, where+"[]", strings.TrimSuffix(want, "[]"), typ.Elem())
	case strings.HasPrefix(want, "record<") && strings.HasSuffix(want, ">"):
		if typ.Kind() != reflect.Map || typ.Key().Kind() != reflect.String {
			return bad
		}
		return checkField(s, where+"{}", want[len("record<"):len(want)-1], typ.Elem())
	default:
		return checkType(s, want, typ)
	}
	return nil
}

// TestCommandsFollowTheSchema: the commands the peer knows are exactly the
// schema's, and each one's arguments and reply are the schema's named types.
func TestCommandsFollowTheSchema(t *testing.T) {
	s := loadSchema(t)
	var registered, listed []string
	for name := range commands {
		registered = append(registered, name)
	}
	for name := range s.Commands {
		listed = append(listed, name)
	}
	sort.Strings(registered)
	sort.Strings(listed)
	if !reflect.DeepEqual(registered, listed) {
		t.Fatalf("registered commands %v, schema %v", registered, listed)
	}
	for name, cmd := range commands {
		spec := s.Commands[name]
		for _, p := range append(checkType(s, spec.Args, cmd.args), checkType(s, spec.Reply, cmd.reply)...) {
			t.Errorf("%s: %s", name, p)
		}
	}
}

// TestSchemaCheckFindsDifferences: the check above fails for a struct that
// differs from the schema (a renamed field, a wrong type, a missing field).
func TestSchemaCheckFindsDifferences(t *testing.T) {
	s := loadSchema(t)
	type PingArgs struct {
		PeerID string `json:"peer"`
		Count  string `json:"count"`
	}
	problems := checkType(s, "PingArgs", reflect.TypeFor[PingArgs]())
	if len(problems) != 3 {
		t.Fatalf("want 3 problems (peer unknown, count type, peerId missing), got %v", problems)
	}
	if got := checkType(s, "PingReply", reflect.TypeFor[PingArgs]()); len(got) != 1 {
		t.Fatalf("a struct of another name: %v", got)
	}
}
