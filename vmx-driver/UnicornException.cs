// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

namespace HyperDbgRemote.VmxDriver;

/// <summary>An error returned by the CPU engine, with uc_strerror's text and the engine call that failed.</summary>
public sealed class UnicornException : Exception
{
    public UnicornException()
    {
    }

    public UnicornException(string message)
        : base(message)
    {
    }

    public UnicornException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    internal UnicornException(string operation, int code, string text)
        : base($"{operation} failed: {text} (uc_err {code})")
    {
        Code = code;
    }

    /// <summary>The uc_err value.</summary>
    public int Code { get; }
}
