// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

namespace HyperDbgRemote.Script.Tests;

/// <summary>Targets set up as the conformance README asks.</summary>
internal static class ConformanceTargets
{
    public const ulong StackBase = 0xFFFF_A000_0010_0000;
    public const ulong StackSize = 0x4000;
    public const ulong StackPointer = StackBase + (StackSize / 2);
    public const ulong KernelImage = 0xFFFF_F800_0000_0000;
    public const ulong ExAllocatePoolWithTag = KernelImage + 0x1230;

    /// <summary>Registers for script-engine/expressions: rax=1, rdx=3, rbx=4, rsp=5 ... r13=0xe, all else 0;
    /// $proc, $thread, $teb, $ip and $buffer are 0.</summary>
    public static TestScriptTarget Expressions()
    {
        var target = new TestScriptTarget
        {
            [ScriptRegister.Rax] = 1,
            [ScriptRegister.Rdx] = 3,
            [ScriptRegister.Rbx] = 4,
            [ScriptRegister.Rsp] = 5,
            [ScriptRegister.Rbp] = 6,
            [ScriptRegister.Rsi] = 7,
            [ScriptRegister.Rdi] = 8,
            [ScriptRegister.R8] = 9,
            [ScriptRegister.R9] = 0xa,
            [ScriptRegister.R10] = 0xb,
            [ScriptRegister.R11] = 0xc,
            [ScriptRegister.R12] = 0xd,
            [ScriptRegister.R13] = 0xe,
        };
        return target;
    }

    /// <summary>For script-engine/semantic: @rsp in the middle of 16 KiB of RAM (well over 0x300 bytes each side) and
    /// a kernel symbol that translates to a physical address.</summary>
    public static TestScriptTarget Semantic()
    {
        var target = new TestScriptTarget { [ScriptRegister.Rsp] = StackPointer };
        target.Map(StackBase, StackSize);
        target.Map(KernelImage, TestScriptTarget.PageSize * 2);
        target.AddSymbol("nt!ExAllocatePoolWithTag", ExAllocatePoolWithTag);
        return target;
    }
}
