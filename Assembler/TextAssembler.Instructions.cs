// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using System.Reflection;
using HyperDbgRemote.Asm.Internal;
using Iced.Intel;
using IcedAssembler = Iced.Intel.Assembler;
using IcedInstruction = Iced.Intel.Instruction;

namespace HyperDbgRemote.Asm;

/// <content>Instructions: a mnemonic maps to Iced's fluent method of that name, the operands choose the overload.</content>
public static partial class TextAssembler
{
    private static readonly Dictionary<string, string> s_prefixes = new(StringComparer.OrdinalIgnoreCase)
    {
        ["rep"] = "rep",
        ["repe"] = "repe",
        ["repz"] = "repe",
        ["repne"] = "repne",
        ["repnz"] = "repne",
        ["lock"] = "lock",
    };

    /// <summary>Lower-case instruction methods of the fluent assembler (its API methods are PascalCase), by name.</summary>
    private static readonly ILookup<string, MethodInfo> s_methods = typeof(IcedAssembler).GetMethods(BindingFlags.Public | BindingFlags.Instance)
        .Where(m => m.DeclaringType == typeof(IcedAssembler) && char.IsAsciiLetterLower(m.Name[0]) && m.Name is not ("db" or "dw" or "dd" or "dq" or "zero_bytes")
            && m.GetParameters().All(p => !p.ParameterType.IsByRef))
        .ToLookup(m => m.Name, StringComparer.OrdinalIgnoreCase);

    /// <summary>Immediate parameter types in order of preference: sign-extended forms first, as assemblers do.</summary>
    private static readonly Type[] s_immediateOrder = [typeof(int), typeof(long), typeof(uint), typeof(ulong), typeof(sbyte), typeof(byte), typeof(short), typeof(ushort)];

    private static readonly Dictionary<(string, int), MethodInfo[]> s_candidates = [];
    private static readonly Lock s_candidatesLock = new();

    private static byte[] Instruction(string mnemonic, string operandText, int bitness, Dictionary<string, long> constants, Dictionary<string, ulong> labels, ulong ip)
    {
        var prefixes = new List<PropertyInfo>();
        while (s_prefixes.TryGetValue(mnemonic, out string? prefix))
        {
            prefixes.Add(typeof(IcedAssembler).GetProperty(prefix)!);
            string rest = operandText.Trim();
            int space = rest.IndexOfAny([' ', '\t']);
            mnemonic = (space < 0 ? rest : rest[..space]).ToLowerInvariant();
            operandText = space < 0 ? string.Empty : rest[(space + 1)..].Trim();
            if (mnemonic.Length == 0)
            {
                throw new AssemblyException($"the prefix '{prefix}' needs an instruction after it");
            }
        }

        if (!s_methods.Contains(mnemonic))
        {
            throw new AssemblyException($"unknown mnemonic '{mnemonic}'");
        }

        List<object> operands = [.. SplitOperands(operandText).Select(o => Operand(o.Trim(), constants, labels, ip, bitness))];
        MethodInfo[] candidates = Candidates(mnemonic, operands.Count);
        if (candidates.Length == 0)
        {
            throw new AssemblyException($"'{mnemonic}' does not take {operands.Count} operand(s)");
        }

        if (Encode(candidates, operands, prefixes, bitness, ip, out string? encodingError, out long? outOfRange) is byte[] encoded)
        {
            return encoded;
        }

        // Iced offers xchg and test with the memory operand first only; both are symmetric.
        if (mnemonic is "xchg" or "test" && operands.Count == 2 && operands[1] is AssemblerMemoryOperand or RipOffset
            && Encode(candidates, [operands[1], operands[0]], prefixes, bitness, ip, out _, out _) is byte[] swapped)
        {
            return swapped;
        }

        string operandList = operandText.Length == 0 ? "no operands" : $"'{operandText}'";
        if (encodingError is not null)
        {
            throw new AssemblyException($"'{mnemonic}' with {operandList} cannot be encoded: {encodingError}");
        }

        if (outOfRange is long value)
        {
            throw new AssemblyException($"value {Hex(value)} is out of range for '{mnemonic}' with {operandList}");
        }

        throw new AssemblyException($"'{mnemonic}' does not take the operand combination {operandList}");
    }

    /// <summary>The bytes of the first candidate that takes the operands and encodes, or null with the reasons.</summary>
    private static byte[]? Encode(
        MethodInfo[] candidates, List<object> operands, List<PropertyInfo> prefixes, int bitness, ulong ip, out string? encodingError, out long? outOfRange)
    {
        encodingError = null;
        outOfRange = null;
        foreach (MethodInfo m in candidates)
        {
            object?[]? args = Convert(m.GetParameters(), operands, ip, out long? badImmediate);
            if (args is null)
            {
                outOfRange ??= badImmediate;
                continue;
            }

            bool rangeError = false;
            byte[]? bytes = Encode(m, args, prefixes, bitness, ip, ref encodingError, ref rangeError);
            if (bytes is not null && operands.Any(o => o is RipOffset))
            {
                // [rip + N] is relative to the end of this instruction, whose length is now known.
                ulong next = unchecked(ip + (ulong)bytes.Length);
                bytes = Encode(m, Convert(m.GetParameters(), operands, next, out _)!, prefixes, bitness, ip, ref encodingError, ref rangeError) is byte[] again
                    && again.Length == bytes.Length ? again : null;
            }

            if (rangeError && operands.FirstOrDefault(o => o is long) is long immediate)
            {
                outOfRange ??= immediate;
                encodingError = null;
            }

            if (bytes is not null)
            {
                return bytes;
            }
        }

        return null;
    }

    private static MethodInfo[] Candidates(string mnemonic, int count)
    {
        lock (s_candidatesLock)
        {
            if (!s_candidates.TryGetValue((mnemonic, count), out MethodInfo[]? candidates))
            {
                candidates = [.. s_methods[mnemonic].Where(m => m.GetParameters().Length == count).OrderBy(Rank).ThenBy(m => m.ToString(), StringComparer.Ordinal)];
                s_candidates[(mnemonic, count)] = candidates;
            }

            return candidates;
        }
    }

    private static byte[]? Encode(MethodInfo method, object?[] args, List<PropertyInfo> prefixes, int bitness, ulong ip, ref string? error, ref bool rangeError)
    {
        var assembler = new IcedAssembler(bitness);
        object target = assembler;
        try
        {
            foreach (PropertyInfo prefix in prefixes)
            {
                target = prefix.GetValue(target)!;
            }

            method.Invoke(target, args);

            // The block encoder matches branch targets against the IPs of the block's instructions: the one instruction
            // must have its real address, or a target of 0 would mean "this instruction".
            IcedInstruction[] instructions = [.. assembler.Instructions.Select(Shorten)];
            for (int i = 0; i < instructions.Length; i++)
            {
                instructions[i].IP = ip;
            }

            using var stream = new MemoryStream();
            if (BlockEncoder.TryEncode(bitness, new InstructionBlock(new StreamCodeWriter(stream), instructions, ip), out string? message, out _))
            {
                return stream.ToArray();
            }

            error = message;
        }
        catch (TargetInvocationException ex)
        {
            error = (ex.InnerException ?? ex).Message;
            rangeError |= ex.InnerException is ArgumentOutOfRangeException;
        }
        catch (Exception ex) when (ex is InvalidOperationException or ArgumentException or ArithmeticException or NotSupportedException)
        {
            error = ex.Message;
            rangeError |= ex is ArgumentOutOfRangeException;
        }

        return null;
    }

    /// <summary>
    /// Iced's fluent API picks the accumulator form (<c>cmp eax, imm32</c>, 5 bytes) even when the immediate fits the
    /// sign-extended imm8 form (<c>83 /7 ib</c>, 3 bytes) that assemblers use; this swaps to the shorter form.
    /// </summary>
    private static IcedInstruction Shorten(IcedInstruction instruction)
    {
        string name = instruction.Code.ToString();
        int at = name.IndexOf('_', StringComparison.Ordinal);
        string? form = at < 0 ? null : name[(at + 1)..] switch
        {
            "AX_imm16" => "rm16_imm8",
            "EAX_imm32" => "rm32_imm8",
            "RAX_imm32" => "rm64_imm8",
            _ => null,
        };
        if (form is null || !Enum.TryParse(name[..(at + 1)] + form, out Code shorter))
        {
            return instruction;
        }

        // The immediate as the operand size sees it (GetImmediate zero-extends imm16 and imm32).
        long immediate = unchecked((long)instruction.GetImmediate(1));
        long value = form == "rm16_imm8" ? (short)immediate : form == "rm32_imm8" ? (int)immediate : immediate;
        return value is >= sbyte.MinValue and <= sbyte.MaxValue ? IcedInstruction.Create(shorter, instruction.Op0Register, (int)value) : instruction;
    }

    private static int Rank(MethodInfo m) => m.GetParameters().Sum(p => Array.IndexOf(s_immediateOrder, p.ParameterType) is int i and >= 0 ? i : 0);

    /// <summary>The arguments for <paramref name="parameters"/>, or null (with the immediate that did not fit, if that was the reason).</summary>
    private static object?[]? Convert(ParameterInfo[] parameters, List<object> operands, ulong nextIp, out long? badImmediate)
    {
        badImmediate = null;
        object?[] args = new object?[operands.Count];
        for (int i = 0; i < operands.Count; i++)
        {
            Type p = parameters[i].ParameterType;
            object o = operands[i] is RipOffset rel ? rel.At(nextIp) : operands[i];
            if (o is long v)
            {
                object? converted = ConvertImmediate(v, p);
                if (converted is null)
                {
                    badImmediate = Array.IndexOf(s_immediateOrder, p) >= 0 ? v : null;
                    return null;
                }

                args[i] = converted;
            }
            else if (p.IsInstanceOfType(o))
            {
                args[i] = o;
            }
            else
            {
                return null;
            }
        }

        return args;
    }

#pragma warning disable CA1859 // The boxed result is what reflection's Invoke takes.
    private static object? ConvertImmediate(long v, Type p)
    {
        if (p == typeof(int))
        {
            return v is >= int.MinValue and <= int.MaxValue ? (int)v : null;
        }

        if (p == typeof(long))
        {
            return v;
        }

        if (p == typeof(uint))
        {
            return v is >= 0 and <= uint.MaxValue ? (uint)v : null;
        }

        if (p == typeof(ulong))
        {
            return unchecked((ulong)v);
        }

        if (p == typeof(sbyte))
        {
            return v is >= sbyte.MinValue and <= sbyte.MaxValue ? (sbyte)v : null;
        }

        if (p == typeof(byte))
        {
            return v is >= 0 and <= byte.MaxValue ? (byte)v : null;
        }

        if (p == typeof(short))
        {
            return v is >= short.MinValue and <= short.MaxValue ? (short)v : null;
        }

        return p == typeof(ushort) && v is >= 0 and <= ushort.MaxValue ? (ushort)v : null;
    }
#pragma warning restore CA1859
}
