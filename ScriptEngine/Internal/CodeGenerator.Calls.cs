// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

namespace HyperDbgRemote.Script.Internal;

internal sealed partial class CodeGenerator
{
    /// <summary>Calls push exactly one value (0 for functions that return nothing); statements pop it.</summary>
    private ExprType EmitCall(CallExpr call)
    {
        if (BuiltinTable.TryGet(call.Name, out Builtin builtin))
        {
            return EmitBuiltin(call, builtin);
        }

        if (!_functions.TryGetValue(call.Name, out (int Index, FunctionDef Definition) function))
        {
            throw Error(call.Offset, $"undefined function '{call.Name}'");
        }

        FunctionDef definition = function.Definition;
        if (call.Args.Count != definition.Parameters.Count)
        {
            throw Error(call.Offset, $"'{call.Name}' takes {definition.Parameters.Count} argument(s), not {call.Args.Count}");
        }

        for (int i = 0; i < call.Args.Count; i++)
        {
            ConvertTop(EmitValue(call.Args[i], $"argument {i + 1} of '{call.Name}'"), definition.Parameters[i].Type.Storage);
        }

        // HyperDbg: a PUSH per argument, CALL, the callee's prologue and epilogue, SUB, and a MOV of the result (taken
        // off again when the call is a statement).
        Emit(OpCode.Call, function.Index, 0, 1 - call.Args.Count, call.Args.Count + Counting.Call + 1);
        ScalarType type = definition.ReturnType;
        return type == ScalarType.Void ? ExprType.Void : type.IsFloating() ? ExprType.Float : ExprType.Num;
    }

    private ExprType EmitBuiltin(CallExpr call, Builtin builtin)
    {
        if (builtin.Id == BuiltinId.Printf)
        {
            EmitPrintf(call);
            return ExprType.Void;
        }

        if (call.Args.Count != builtin.Arity)
        {
            throw Error(call.Offset, $"'{call.Name}' takes {builtin.Arity} argument(s), not {call.Args.Count}");
        }

        if (builtin.Id == BuiltinId.Reference)
        {
            return EmitAddressOf(call.Args[0], call.Args[0].Offset, "reference");
        }

        for (int i = 0; i < call.Args.Count; i++)
        {
            // Built-ins take 64-bit integers; a float argument is truncated like a C conversion.
            ConvertTop(EmitValue(call.Args[i], $"argument {i + 1} of '{call.Name}'"), ScalarType.Untyped);
        }

        Emit(OpCode.Builtin, (int)builtin.Id, (ulong)call.Args.Count, 1 - call.Args.Count);
        return builtin.ReturnsValue ? ExprType.Num : ExprType.Void;
    }

    /// <summary>printf: the format is a string literal checked now (spec 6.9); the argument count must match.</summary>
    private void EmitPrintf(CallExpr call)
    {
        if (call.Args.Count == 0 || call.Args[0] is not StringExpr { Wide: false } literal)
        {
            throw Error(call.Offset, "printf needs a string literal as its format, e.g. printf(\"%llx\\n\", @rax)");
        }

        PrintfFormat? format = PrintfFormat.TryParse(literal.Text, out string? error, out int errorIndex);
        if (format is null)
        {
            throw Error(literal.Offset + 1 + errorIndex, error!);
        }

        int given = call.Args.Count - 1;
        if (given != format.ArgumentCount)
        {
            throw Error(call.Offset, $"printf: the format has {format.ArgumentCount} specifier(s) but {given} argument(s) follow");
        }

        int argument = 1;
        foreach (PrintfPiece piece in format.Pieces)
        {
            if (piece.Conversion == PrintfConversion.None)
            {
                continue;
            }

            Expr value = call.Args[argument];
            ExprType type = EmitValue(value, $"printf argument {argument}");
            if ((piece.Conversion == PrintfConversion.Float) != (type == ExprType.Float))
            {
                throw Error(value.Offset, piece.Conversion == PrintfConversion.Float
                    ? $"printf: '%f' needs a float value, argument {argument} is an integer"
                    : $"printf: argument {argument} is a float; print it with '%f'");
            }

            argument++;
        }

        _formats.Add(format);
        Emit(OpCode.Printf, _formats.Count - 1, (ulong)given, 1 - given);
    }
}
