// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

namespace HyperDbgRemote.VmxDriver.Internal.Engine;

/// <summary>What CPUID returns for one leaf and sub-leaf: EAX, EBX, ECX and EDX.</summary>
internal readonly record struct CpuidResult(uint Eax, uint Ebx, uint Ecx, uint Edx);
