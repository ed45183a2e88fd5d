// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

namespace HyperDbgRemote.Script.Internal;

/// <summary>Pointers, arrays and <c>sizeof</c> (spec 6.2, 6.5): typed dereference, scaled arithmetic, indexing and
/// bounds-checked local arrays. An untyped address keeps HyperDbg's 8-byte <c>*p</c> (as <c>poi</c>).</summary>
internal sealed partial class CodeGenerator
{
    /// <summary><c>sizeof(expression)</c>: the size of its static type (an array: element size × count).</summary>
    private int SizeOf(Expr operand)
    {
        CType type = CTypeOf(operand);
        if (type == CType.Of(ScalarType.Void))
        {
            throw Error(operand.Offset, "type error: sizeof of something that returns nothing");
        }

        return type.Size;
    }

    /// <summary>Pushes the address <c>*e</c> refers to and returns the pointee type (untyped for plain numbers).</summary>
    private CType EmitDereferenceAddress(UnaryExpr dereference)
    {
        CType pointer = CTypeOf(dereference.Operand).Decay();
        EmitInteger(dereference.Operand, "the address of '*'");
        return pointer.Pointers > 0 ? pointer.Target : CType.Untyped;
    }

    /// <summary>Pushes the address of <c>base[index]</c> (<c>base + index × element size</c>) and returns the element
    /// type. The index of an array (a local or a struct member) is checked at run time.</summary>
    private CType EmitElementAddress(IndexExpr index)
    {
        CType pointer = CTypeOf(index.Base);
        if (pointer.Decay().Pointers == 0)
        {
            throw Error(index.Offset, "type error: '[]' needs an array or a typed pointer (e.g. 'int *p'); cast an address first: ((int *)address)[i]");
        }

        if (TypeOf(index.Index) is not ExprType.Num)
        {
            throw Error(index.Index.Offset, "type error: an array index must be an integer");
        }

        CType element = pointer.Decay().Target;
        if (pointer.IsArray)
        {
            EmitExpr(index.Index);
            _arrayNames.Add(ArrayName(index.Base));
            Emit(OpCode.CheckIndex, _arrayNames.Count - 1, (ulong)pointer.Length, 0);
            EmitScale(pointer.Decay());
            EmitExpr(index.Base);
        }
        else
        {
            EmitInteger(index.Base, "the pointer of '[]'");
            EmitExpr(index.Index);
            EmitScale(pointer.Decay());
        }

        Emit(OpCode.Add, 0, 0, -1);
        return element;
    }

    private static string ArrayName(Expr array) => array switch
    {
        LocalExpr local => local.Name,
        MemberExpr member => ArrayName(member.Base) + (member.Arrow ? "->" : ".") + member.Member,
        IndexExpr index => ArrayName(index.Base) + "[]",
        _ => "array",
    };

    /// <summary>The member <c>s.m</c> / <c>p-&gt;m</c> names, or null when the base is not a struct (pointer).</summary>
    private StructField? MemberOf(MemberExpr member)
    {
        CType owner = CTypeOf(member.Base);
        if (member.Arrow)
        {
            owner = owner.Decay();
            owner = owner.IsPointer ? owner.Target : CType.Untyped;
        }

        return owner.IsStruct ? owner.Struct!.Find(member.Member) : null;
    }

    /// <summary>Pushes the address of a member and returns its type.</summary>
    private CType EmitMemberAddress(MemberExpr member)
    {
        CType owner = CTypeOf(member.Base);
        CType structType = member.Arrow ? (owner.Decay().IsPointer ? owner.Decay().Target : CType.Untyped) : owner;
        if (!structType.IsStruct)
        {
            throw Error(member.Offset, member.Arrow
                ? $"type error: '->' needs a pointer to a struct, not '{owner}'"
                : $"type error: '.' needs a struct, not '{owner}'" + (owner.IsPointer && owner.Target.IsStruct ? "; use '->' on a pointer" : string.Empty));
        }

        StructField field = structType.Struct!.Find(member.Member)
            ?? throw Error(member.Offset, $"type error: {structType.Struct} has no member '{member.Member}'");

        // A struct value is its address, so '.' and '->' both start from the value of the base.
        EmitInteger(member.Base, $"the struct of '{member.Member}'");
        if (field.Offset != 0)
        {
            Emit(OpCode.PushConst, 0, (ulong)field.Offset, 1);
            Emit(OpCode.Add, 0, 0, -1);
        }

        return field.Type;
    }

    private void EmitScale(CType pointer)
    {
        // Part of HyperDbg's typed pointer arithmetic or element access, not an instruction of its own.
        if (pointer.Stride != 1)
        {
            Emit(OpCode.PushConst, 0, (ulong)pointer.Stride, 1);
            Emit(OpCode.Mul, 0, 0, -1, weight: 0);
        }
    }

    /// <summary>Replaces the address on the stack by the <paramref name="pointee"/> it points to (one HyperDbg
    /// instruction, a POI or typed load, unless <paramref name="count"/> says otherwise).</summary>
    private ExprType EmitLoadMem(CType pointee, int offset, int count = 1)
    {
        if (pointee == CType.Untyped)
        {
            // HyperDbg's '*' on a plain number: an 8-byte read like poi (spec 6.5).
            Emit(OpCode.Builtin, (int)BuiltinId.Poi, 1, 0, count);
            return ExprType.Num;
        }

        if (pointee.IsAggregate)
        {
            // An array or struct in memory is used through its address (p->arr[i], pts[1].x).
            return ExprType.Num;
        }

        if (pointee == CType.Of(ScalarType.Void))
        {
            throw Error(offset, "type error: cannot dereference a 'void *'; cast it to a typed pointer first");
        }

        Emit(OpCode.LoadMem, (int)pointee.Storage, (ulong)pointee.Size, 0, count);
        return pointee.Storage.IsFloating() ? ExprType.Float : ExprType.Num;
    }

    /// <summary>Address and value are on the stack: converts the value to <paramref name="pointee"/> and writes its bytes
    /// (one HyperDbg instruction, an EQ or typed store, unless <paramref name="count"/> says otherwise).</summary>
    private void EmitStoreMem(CType pointee, ExprType value, int offset, int count = 1)
    {
        if (pointee.IsAggregate || pointee == CType.Of(ScalarType.Void))
        {
            throw Error(offset, pointee.IsAggregate
                ? $"type error: cannot assign to a whole '{pointee}'; assign its elements or members"
                : "type error: cannot store through a 'void *'; cast it to a typed pointer first");
        }

        if (pointee.IsPointer && value == ExprType.Float)
        {
            throw Error(offset, "type error: a pointer cannot hold a float");
        }

        ScalarType storage = pointee == CType.Untyped ? ScalarType.Untyped : pointee.Storage;
        ConvertTop(value, storage);
        Emit(OpCode.StoreMem, pointee.Size, storage == ScalarType.Float ? 1UL : 0UL, -2, count);
    }

    /// <summary><c>p + n</c>, <c>n + p</c>, <c>p - n</c> (n scaled by the element size) and <c>p - q</c> (elements
    /// between them). The left operand is already on the stack.</summary>
    private ExprType EmitPointerArithmetic(string op, ExprType left, CType leftC, Expr right, ExprType rightType, int offset)
    {
        CType rightC = CTypeOf(right).Decay();
        if (left == ExprType.Float || rightType == ExprType.Float)
        {
            throw Error(offset, $"type error: '{op}' cannot mix a pointer with a float");
        }

        RequireArithmetic(left, op, offset, "its left side");
        RequireArithmetic(rightType, op, offset, "its right side");
        if (leftC.IsPointer && rightC.IsPointer)
        {
            if (op == "+" || leftC.Stride != rightC.Stride)
            {
                throw Error(offset, op == "+" ? "type error: two pointers cannot be added" : $"type error: '-' between '{leftC}' and '{rightC}' (different element sizes)");
            }

            EmitExpr(right);
            Emit(OpCode.Sub, 0, 0, -1);
            if (leftC.Stride != 1)
            {
                // One HyperDbg POINTER_DIFF with the subtraction.
                Emit(OpCode.PushConst, 0, (ulong)leftC.Stride, 1);
                Emit(OpCode.DivS, 0, 0, -1, weight: 0);
            }

            return ExprType.Num;
        }

        if (!leftC.IsPointer)
        {
            if (op == "-")
            {
                throw Error(offset, "type error: a pointer cannot be subtracted from a number");
            }

            EmitScale(rightC);
            EmitExpr(right);
        }
        else
        {
            EmitExpr(right);
            EmitScale(leftC);
        }

        Emit(op == "+" ? OpCode.Add : OpCode.Sub, 0, 0, -1);
        return ExprType.Num;
    }
}
