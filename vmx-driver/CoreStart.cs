// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

namespace HyperDbgRemote.VmxDriver;

/// <summary>Where and how one core starts.</summary>
/// <param name="Mode">The CPU mode at start.</param>
/// <param name="CodeSegment">Real mode: CS; ignored in long mode.</param>
/// <param name="InstructionPointer">IP (real mode, relative to CS) or RIP (long mode).</param>
/// <param name="StackPointer">SP/RSP at start.</param>
/// <param name="PageTableRoot">Long mode: CR3 of the identity map.</param>
/// <param name="GdtBase">Long mode: a GDT with a 64-bit code segment at selector 0x08 and a data segment at 0x10
/// (see <see cref="Guests.IdentityMap"/>); 0 keeps the engine's flat defaults.</param>
public sealed record CoreStart(CoreStartMode Mode, ushort CodeSegment, ulong InstructionPointer, ulong StackPointer, ulong PageTableRoot = 0, ulong GdtBase = 0);
