// Package tags is the sample gomodifytags adds struct tags to and gotests writes tests for.
package tags

// Person is a struct without tags.
type Person struct {
	Name  string
	Email string
}

// Initials is the first letter of the person's name.
func (p Person) Initials() string {
	if p.Name == "" {
		return ""
	}
	return p.Name[:1]
}
