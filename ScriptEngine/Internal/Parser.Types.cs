// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

namespace HyperDbgRemote.Script.Internal;

/// <summary>User-defined types: <c>struct</c> definitions and references, <c>typedef</c> (spec 6.2).</summary>
internal sealed partial class Parser
{
    /// <summary><c>struct name</c> as a type: the struct must be defined before.</summary>
    private CType ParseStructReference()
    {
        Advance();
        Token name = Current;
        if (!_structs.TryGetValue(name.Text, out StructLayout? layout) || !IsMemberName(name))
        {
            throw Error(name, $"syntax error: unknown struct '{name.Text}' (define it first: struct {name.Text} {{ ... }};)");
        }

        Advance();
        return new CType(ScalarType.Struct, 0, -1, layout);
    }

    /// <summary><c>struct name { type member; type m1, m2[4]; ... };</c> laid out like C (natural alignment). A member
    /// may point to the struct being defined (<c>struct node *next;</c>) but not contain it.</summary>
    private void ParseStructDefinition()
    {
        Advance();
        Token name = Advance();
        if (!IsMemberName(name) || _structs.ContainsKey(name.Text))
        {
            throw Error(name, IsMemberName(name) ? $"syntax error: struct '{name.Text}' is already defined" : $"syntax error: expected a struct name, found {name}");
        }

        var layout = new StructLayout(name.Text);
        _structs.Add(name.Text, layout);
        Token open = Advance();
        while (!Current.Is("}"))
        {
            if (Current.Kind == TokenKind.End)
            {
                throw Error(open, "syntax error: '{' is never closed");
            }

            Token typeStart = Current;
            if (!IsTypeStart(typeStart))
            {
                throw Error(typeStart, $"syntax error: expected a member type in struct '{name.Text}', found {typeStart}");
            }

            CType type = ParseFullType();
            do
            {
                Token member = Current;
                if (!IsMemberName(member))
                {
                    throw Error(member, $"syntax error: expected a member name, found {member}");
                }

                Advance();
                CType memberType = Current.Is("[") ? ParseMemberArray(type, member) : type;
                if (memberType.Scalar == ScalarType.Void && memberType.Pointers == 0)
                {
                    throw Error(member, $"syntax error: member '{member.Text}' cannot be void");
                }

                if (memberType.Struct == layout && memberType.Pointers == 0)
                {
                    throw Error(member, $"syntax error: struct '{name.Text}' cannot contain itself (use a pointer)");
                }

                if (layout.Find(member.Text) is not null)
                {
                    throw Error(member, $"syntax error: struct '{name.Text}' has two members named '{member.Text}'");
                }

                layout.Add(member.Text, memberType);
            }
            while (AcceptPunct(","));

            ExpectPunct(";", "after the member");
        }

        Advance();
        if (layout.Fields.Count == 0)
        {
            throw Error(name, $"syntax error: struct '{name.Text}' has no members");
        }

        layout.Close();
        ExpectPunct(";", "after the struct definition");
    }

    private CType ParseMemberArray(CType element, Token member)
    {
        Advance();
        Token size = Current;
        if (ParseUnary() is not NumberExpr { IsFloat: false, Value: > 0 and <= ScriptLimits.StackSlots * CType.AddressSize } count)
        {
            throw Error(size, $"syntax error: the length of member '{member.Text}' must be a number from 1 to {ScriptLimits.StackSlots * CType.AddressSize}");
        }

        ExpectPunct("]", $"after the length of member '{member.Text}'");
        return element with { Length = (int)count.Value };
    }

    /// <summary><c>typedef TYPE NAME;</c> of a scalar or pointer type; the name is a type for the rest of the script.</summary>
    private void ParseTypedef()
    {
        Advance();
        if (!IsTypeStart(Current))
        {
            throw Error(Current, $"syntax error: expected a type after 'typedef', found {Current}");
        }

        CType type = ParseFullType();
        Token name = Current;
        RequireVariableName(name, "type");
        if (IsTypeWord(name.Text) || (_typedefs.TryGetValue(name.Text, out CType? old) && old != type))
        {
            throw Error(name, $"syntax error: type '{name.Text}' is already defined");
        }

        Advance();
        if (Current.Is("["))
        {
            throw Error(Current, "syntax error: typedef of an array is not supported (docs/script-language.md)");
        }

        ExpectPunct(";", "after the typedef");
        _typedefs[name.Text] = type;
    }
}
