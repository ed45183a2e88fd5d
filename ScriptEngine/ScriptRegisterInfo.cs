// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using HyperDbgRemote.Script.Internal;

namespace HyperDbgRemote.Script;

/// <summary>
/// Where a <see cref="ScriptRegister"/> lives: the full register that holds it, the bit offset and the width.
/// Writes to a view merge into the full register and keep every other bit (spec 6.3; unlike x86, writing
/// <c>@eax</c> does not clear bits 63:32).
/// </summary>
/// <param name="Full">The full register holding the value.</param>
/// <param name="Shift">Bit offset of the view inside <paramref name="Full"/>.</param>
/// <param name="Width">Width in bits (64 for a full register).</param>
public readonly record struct ScriptRegisterInfo(ScriptRegister Full, int Shift, int Width)
{
    /// <summary>True when this is a full register (what targets store).</summary>
    public bool IsFull => Width == RegisterTable.FullWidth;

    /// <summary>The mask of the view before shifting.</summary>
    public ulong Mask => Width >= RegisterTable.FullWidth ? ulong.MaxValue : (1UL << Width) - 1;

    /// <summary>Looks up the layout of <paramref name="register"/>.</summary>
    public static ScriptRegisterInfo Of(ScriptRegister register) => RegisterTable.Info(register);

    /// <summary>The script name of <paramref name="register"/> (lower case, without <c>@</c>).</summary>
    public static string NameOf(ScriptRegister register) => RegisterTable.Name(register);

    /// <summary>Finds a register by its script name (case-sensitive, without <c>@</c>).</summary>
    public static bool TryParse(string name, out ScriptRegister register) => RegisterTable.TryParse(name, out register);
}
