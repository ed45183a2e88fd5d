// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

namespace HyperDbgRemote.Script.Internal;

/// <summary>Initialisers of local arrays and structs (spec 6.2).</summary>
internal sealed partial class CodeGenerator
{
    /// <summary>Zeroes the array's or struct's slots (every time the declaration runs, as C's <c>= {...}</c>), then
    /// stores each initial value: array elements in order, struct members in order (a string literal initialises a
    /// char array byte by byte, with its NUL).</summary>
    private void EmitAggregateInitialiser(DeclStmt declaration, LocalVariable array)
    {
        CType type = declaration.Type;
        if (type.IsStruct)
        {
            EmitStructInitialiser(declaration, array);
            return;
        }

        // HyperDbg: MUL, ADD and a write per initial value.
        CType element = type.Target;
        int slots = (type.Size + CType.AddressSize - 1) / CType.AddressSize;
        Emit(OpCode.ZeroLocals, array.Slot, (ulong)slots, 0);
        if (declaration.Init is StringExpr text)
        {
            if (element.Pointers > 0 || element.Size != 1 || text.Wide)
            {
                throw Error(text.Offset, $"type error: a string initialises only a char array ('{declaration.Name}' is '{type}')");
            }

            if (text.Bytes.Length + 1 > type.Length)
            {
                throw Error(text.Offset, $"type error: the string needs {text.Bytes.Length + 1} bytes; array '{declaration.Name}' has {type.Length}");
            }

            for (int i = 0; i < text.Bytes.Length; i++)
            {
                Emit(OpCode.AddrLocal, array.Slot, (ulong)i, 1);
                Emit(OpCode.PushConst, 0, text.Bytes[i], 1);
                Emit(OpCode.StoreMem, 1, 0, -2);
            }

            return;
        }

        IReadOnlyList<Expr> values = declaration.InitList ?? [];
        if (values.Count > type.Length)
        {
            throw Error(values[type.Length].Offset, $"type error: array '{declaration.Name}' has {type.Length} element(s); {values.Count} initial values given");
        }

        for (int i = 0; i < values.Count; i++)
        {
            Emit(OpCode.AddrLocal, array.Slot, (ulong)(i * element.Size), 1);
            EmitStoreMem(element, EmitValue(values[i], $"initial value {i + 1} of '{declaration.Name}'"), values[i].Offset, count: 3);
        }
    }

    private void EmitStructInitialiser(DeclStmt declaration, LocalVariable local)
    {
        StructLayout layout = declaration.Type.Struct!;
        Emit(OpCode.ZeroLocals, local.Slot, (ulong)((layout.Size + CType.AddressSize - 1) / CType.AddressSize), 0);
        IReadOnlyList<Expr> values = declaration.InitList ?? [];
        if (values.Count > layout.Fields.Count)
        {
            throw Error(values[layout.Fields.Count].Offset, $"type error: {layout} has {layout.Fields.Count} member(s); {values.Count} initial values given");
        }

        for (int i = 0; i < values.Count; i++)
        {
            StructField field = layout.Fields[i];
            if (field.Type.IsAggregate)
            {
                throw Error(values[i].Offset, $"type error: member '{field.Name}' is an array or struct; set it after the declaration");
            }

            Emit(OpCode.AddrLocal, local.Slot, (ulong)field.Offset, 1);
            EmitStoreMem(field.Type, EmitValue(values[i], $"the initial value of '{declaration.Name}.{field.Name}'"), values[i].Offset);
        }
    }
}
